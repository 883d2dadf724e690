import CDSP

/// Settings fixed when an engine is built. Defaults are what a DJ set-up expects: 48 kHz, 4 decks,
/// LR8 isolator EQ at 250 Hz / 2.5 kHz, master limiter at −1 dBFS.
public struct EngineConfiguration: Sendable, Equatable, Codable {
    public var sampleRate: Int = 48000
    public var decks: Int = 4
    /// The most frames one render call may ask for (a period longer than this is cut into pieces).
    public var maxPeriodFrames: Int = 4096
    /// Varispeed converter quality (libsamplerate). `fastest` costs least per deck; `best` most.
    public var varispeedQuality: ResampleQuality = .fastest
    /// Converter used when a file's rate differs from the engine's.
    public var loadQuality: ResampleQuality = .medium
    /// Play/pause fade, in frames (0 disables it).
    public var declickFrames: Int = 96
    /// Ramp for parameter changes that do not give their own (anti-zipper), in frames.
    public var defaultRampFrames: Int = 240
    public var eqLowMidHz: Double = 250
    public var eqMidHighHz: Double = 2500
    public var filterResonance: Double = 1.2
    public var limiterCeilingDb: Double = -1
    public var limiterLookaheadMs: Double = 2
    public var limiterReleaseMs: Double = 80
    public var commandCapacity: Int = 4096
    /// Report every command's effective frame as an `EngineEvent.applied` (a command log, used to replay a
    /// live session offline and to measure command latency). Off by default.
    public var reportsAppliedCommands: Bool = false

    public init() {}

    public init(sampleRate: Int = 48000, decks: Int = 4) {
        self.sampleRate = sampleRate
        self.decks = decks
    }

    /// Checks every field; the message names the field and its allowed range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw DJCoreError.invalidArgument(message()) }
        }
        try check((8000...384_000).contains(sampleRate), "sampleRate \(sampleRate) is outside 8000 ... 384000 Hz")
        try check((1...Int(CDSP_ENGINE_MAX_DECKS)).contains(decks), "decks \(decks) is outside 1 ... \(CDSP_ENGINE_MAX_DECKS)")
        try check((16...65536).contains(maxPeriodFrames), "maxPeriodFrames \(maxPeriodFrames) is outside 16 ... 65536")
        try check((0...sampleRate).contains(declickFrames), "declickFrames \(declickFrames) is outside 0 ... \(sampleRate)")
        try check((0...(sampleRate * 10)).contains(defaultRampFrames), "defaultRampFrames \(defaultRampFrames) is outside 0 ... \(sampleRate * 10)")
        try check(eqLowMidHz > 10 && eqLowMidHz < eqMidHighHz && eqMidHighHz < 0.45 * Double(sampleRate),
                  "EQ crossovers \(eqLowMidHz) Hz / \(eqMidHighHz) Hz must satisfy 10 < low < high < 0.45 × sample rate")
        try check((0.5...8).contains(filterResonance), "filterResonance \(filterResonance) is outside 0.5 ... 8")
        try check((-40...0).contains(limiterCeilingDb), "limiterCeilingDb \(limiterCeilingDb) is outside −40 ... 0 dBFS")
        try check((0.1...50).contains(limiterLookaheadMs), "limiterLookaheadMs \(limiterLookaheadMs) is outside 0.1 ... 50")
        try check((1...5000).contains(limiterReleaseMs), "limiterReleaseMs \(limiterReleaseMs) is outside 1 ... 5000")
        try check((16...1 << 20).contains(commandCapacity), "commandCapacity \(commandCapacity) is outside 16 ... 1048576")
    }

    var cConfig: cdsp_engine_config {
        var c = cdsp_engine_config_default(UInt32(sampleRate))
        c.decks = UInt32(decks)
        c.max_block = UInt32(maxPeriodFrames)
        c.command_capacity = UInt32(commandCapacity)
        c.report_applied = reportsAppliedCommands ? 1 : 0
        if reportsAppliedCommands { c.event_capacity = UInt32(max(1024, commandCapacity * 2)) }
        c.max_pending = UInt32(commandCapacity)
        c.deck = cdsp_deck_config_default(UInt32(sampleRate), UInt32(maxPeriodFrames))
        c.deck.quality = varispeedQuality.c
        c.deck.declick_frames = UInt32(declickFrames)
        c.mixer = cdsp_mixer_config_default(UInt32(sampleRate), UInt32(decks))
        c.mixer.eq_low_mid_hz = eqLowMidHz
        c.mixer.eq_mid_high_hz = eqMidHighHz
        c.mixer.filter_resonance = Float(filterResonance)
        c.mixer.limiter.ceiling_db = Float(limiterCeilingDb)
        c.mixer.limiter.lookahead_ms = Float(limiterLookaheadMs)
        c.mixer.limiter.release_ms = Float(limiterReleaseMs)
        return c
    }
}
