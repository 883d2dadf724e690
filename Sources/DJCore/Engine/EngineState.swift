import CDSP

/// Level meter reading, linear (1.0 = full scale).
public struct MeterReading: Sendable, Equatable, Codable {
    public var peak: [Float]
    public var rms: [Float]
    public var peakDb: Double { gainToDb(Double(peak.max() ?? 0)) }

    init(_ m: cdsp_meter) {
        peak = [m.peak.0, m.peak.1]
        rms = [m.rms.0, m.rms.1]
    }
}

/// One deck as the control side sees it.
public struct DeckState: Sendable, Equatable, Codable {
    public var number: Int
    public var trackID: UInt64?
    public var length: Int64
    public var position: Double
    public var playing: Bool
    public var rate: Double
    public var rateTarget: Double
    public var cue: Int64
    public var loopStart: Int64
    public var loopEnd: Int64
    public var loopActive: Bool
    public var varispeed: Bool
    public var trimDb: Double
    public var eqDb: [Double]
    public var kills: [Bool]
    public var filter: Double
    public var fader: Double
    public var assign: CrossfaderSide
    public var cueBus: Bool
    public var meter: MeterReading
}

/// A consistent picture of the engine, taken at the end of one period.
public struct EngineState: Sendable, Equatable, Codable {
    public var frame: UInt64
    public var periods: UInt64
    public var commandsApplied: UInt64
    public var pendingCommands: Int
    public var decks: [DeckState]
    public var crossfader: Double
    public var curve: CrossfaderCurve
    public var masterGainDb: Double
    public var cueMix: Double
    public var cueGainDb: Double
    public var limiterCeilingDb: Double
    public var limiterReductionDb: Double
    public var master: MeterReading
    public var cue: MeterReading

    init(_ s: cdsp_engine_state) {
        frame = s.frame
        periods = s.periods
        commandsApplied = s.commands_applied
        pendingCommands = Int(s.pending)
        var decks: [DeckState] = []
        withUnsafeBytes(of: s.deck) { raw in
            let all = raw.bindMemory(to: cdsp_deck_state.self)
            for i in 0..<Int(s.decks) {
                let d = all[i]
                let eq = [d.strip.eq.0, d.strip.eq.1, d.strip.eq.2].map { gainToDb(Double($0)) }
                let side: CrossfaderSide = d.strip.assign == Int32(CDSP_ASSIGN_A.rawValue) ? .a
                    : d.strip.assign == Int32(CDSP_ASSIGN_B.rawValue) ? .b : .thru
                decks.append(DeckState(
                    number: i + 1, trackID: d.deck.has_track != 0 ? d.deck.track_id : nil, length: d.deck.length,
                    position: d.deck.position, playing: d.deck.playing != 0, rate: d.deck.rate,
                    rateTarget: d.deck.rate_target, cue: d.deck.cue, loopStart: d.deck.loop_in,
                    loopEnd: d.deck.loop_out, loopActive: d.deck.loop_active != 0, varispeed: d.deck.varispeed != 0,
                    trimDb: gainToDb(Double(d.strip.trim)), eqDb: eq,
                    kills: [d.strip.kill.0 != 0, d.strip.kill.1 != 0, d.strip.kill.2 != 0],
                    filter: Double(d.strip.filter), fader: Double(d.strip.fader), assign: side,
                    cueBus: d.strip.cue != 0, meter: MeterReading(d.meter)))
            }
        }
        self.decks = decks
        crossfader = Double(s.mixer.crossfader)
        curve = CrossfaderCurve.allCases.first { $0.c.rawValue == UInt32(s.mixer.curve) } ?? .constantPower
        masterGainDb = gainToDb(Double(s.mixer.master_gain))
        cueMix = Double(s.mixer.cue_mix)
        cueGainDb = gainToDb(Double(s.mixer.cue_gain))
        limiterCeilingDb = Double(s.mixer.limiter_ceiling_db)
        limiterReductionDb = Double(s.mixer.limiter_reduction_db)
        master = MeterReading(s.master)
        cue = MeterReading(s.cue)
    }
}

/// What the audio thread reports back.
public enum EngineEvent: Sendable, Equatable {
    /// A deck played its track to the end and stopped.
    case trackEnded(deck: Int, frame: UInt64)
    /// The engine's queue of future commands was full for this many periods; commands arrived late.
    case queueFull(periods: Int)
    /// The audio side ignored a command it could not apply.
    case invalidCommand(type: UInt32)
    /// A command took effect at `frame` (only with `EngineConfiguration.reportsAppliedCommands`): its
    /// time stamp, or the start of the period that took it. `id` is what `Engine.send` returned.
    case applied(id: UInt32, frame: UInt64)
}
