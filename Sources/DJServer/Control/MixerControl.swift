import DJCore
import Foundation

/// Turns the API's mixer/effect and transport requests into engine commands. The one path by which the
/// HTTP API, the WebSocket and effect tasks change the sound: everything ends in `Engine.send`, which
/// validates again and hands plain-data commands to the audio thread — nothing here touches audio-thread
/// state.
///
/// A request is validated whole before anything is sent, so a bad field changes nothing.
public struct MixerControl: Sendable {
    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    var decks: Int { engine.configuration.decks }
    var rate: Double { Double(engine.sampleRate) }

    /// The deck fields `PUT /api/dj/effects` takes for one deck.
    static let deckKeys = ["deck", "trimDb", "eq", "kill", "filter", "filterResonance", "fader", "assign", "cue", "rampSeconds"]
    static let masterKeys = ["crossfader", "curve", "masterGainDb", "cueMix", "cueGainDb", "limiterCeilingDb", "rampSeconds"]

    /// Parses `{"decks": [{...}], "master": {...}, "rampSeconds": s}` into commands (nothing sent yet).
    public func effectCommands(_ f: Fields) throws -> [EngineCommand] {
        try f.only(["decks", "master", "rampSeconds"])
        let defaultRamp = try f.optionalDouble("rampSeconds", in: 0...60, unit: " s")
        var out: [EngineCommand] = []
        if let list = try f.optionalArray("decks") {
            for (i, item) in list.enumerated() {
                guard case let .object(o) = item else {
                    throw APIError.badRequest("decks[\(i)] must be an object, got \(item.kindDescription)")
                }
                let d = Fields(o, where: "decks[\(i)]")
                let deck = try d.int("deck")
                out += try deckCommands(deck: deck, d, defaultRamp: defaultRamp)
            }
        }
        if let m = try f.optionalObject("master") {
            out += try masterCommands(m, defaultRamp: defaultRamp)
        }
        guard !out.isEmpty else {
            throw APIError.badRequest("nothing to change: give 'decks' (a list of {deck, ...}) and/or 'master'")
        }
        return out
    }

    func checkDeck(_ deck: Int) throws {
        guard (1...decks).contains(deck) else {
            throw APIError.notFound("deck \(deck) does not exist (decks are 1 ... \(decks))")
        }
    }

    func ramp(_ seconds: Double?) -> Ramp {
        guard let s = seconds else { return .standard }
        return s == 0 ? .immediate : .frames(Int(s * rate))
    }

    /// The mixer-strip commands for one deck.
    public func deckCommands(deck: Int, _ d: Fields, defaultRamp: Double? = nil) throws -> [EngineCommand] {
        try checkDeck(deck)
        try d.only(Self.deckKeys)
        let r = ramp(try d.optionalDouble("rampSeconds", in: 0...60, unit: " s") ?? defaultRamp)
        var out: [EngineCommand] = []
        if let v = try d.optionalDouble("trimDb", in: -60...18, unit: " dB") { out.append(.trim(deck: deck, db: v, r)) }
        if let eq = try d.optionalObject("eq") {
            try eq.only(EQBand.allCases.map(\.rawValue))
            for band in EQBand.allCases {
                if let v = try eq.optionalDouble(band.rawValue, in: -60...12, unit: " dB") {
                    out.append(.eq(deck: deck, band: band, db: v, r))
                }
            }
        }
        if let kill = try d.optionalObject("kill") {
            try kill.only(EQBand.allCases.map(\.rawValue))
            for band in EQBand.allCases {
                if let on = try kill.optionalBool(band.rawValue) { out.append(.kill(deck: deck, band: band, on)) }
            }
        }
        if let v = try d.optionalDouble("filter", in: -1...1) { out.append(.filter(deck: deck, v, r)) }
        if let v = try d.optionalDouble("filterResonance", in: 0.5...8) { out.append(.filterResonance(deck: deck, v)) }
        if let v = try d.optionalDouble("fader", in: 0...1) { out.append(.fader(deck: deck, v, r)) }
        if let s = try d.optionalChoice("assign", CrossfaderSide.allCases.map(\.rawValue)) {
            out.append(.assign(deck: deck, CrossfaderSide(rawValue: s)!))
        }
        if let on = try d.optionalBool("cue") { out.append(.cue(deck: deck, on)) }
        return out
    }

    public func masterCommands(_ m: Fields, defaultRamp: Double? = nil) throws -> [EngineCommand] {
        try m.only(Self.masterKeys)
        let r = ramp(try m.optionalDouble("rampSeconds", in: 0...60, unit: " s") ?? defaultRamp)
        var out: [EngineCommand] = []
        if let v = try m.optionalDouble("crossfader", in: -1...1) { out.append(.crossfader(v, r)) }
        if let s = try m.optionalChoice("curve", CrossfaderCurve.allCases.map(\.rawValue)) {
            out.append(.curve(CrossfaderCurve(rawValue: s)!))
        }
        if let v = try m.optionalDouble("masterGainDb", in: -60...18, unit: " dB") { out.append(.masterGain(db: v, r)) }
        if let v = try m.optionalDouble("cueMix", in: 0...1) { out.append(.cueMix(v, r)) }
        if let v = try m.optionalDouble("cueGainDb", in: -60...18, unit: " dB") { out.append(.cueGain(db: v, r)) }
        if let v = try m.optionalDouble("limiterCeilingDb", in: -40...0, unit: " dB") { out.append(.limiterCeiling(db: v)) }
        return out
    }

    /// Sends commands in order, stamped with one frame (nil: the next period).
    public func send(_ commands: [EngineCommand], at frame: UInt64? = nil) throws {
        try engine.send(commands, at: frame)
    }

    /// The mixer and effect parameters now, as `GET /api/dj/effects` shows them.
    public func effectsSnapshot() -> EffectsSnapshot {
        EffectsSnapshot(engine.state())
    }
}

/// `GET /api/dj/effects`: every deck's channel strip and the master section. Silent gains (−inf dB) are
/// shown as null.
public struct EffectsSnapshot: Codable, Sendable {
    public struct Strip: Codable, Sendable {
        public var deck: Int
        public var trimDb: Double?
        public var eq: [String: Double?]
        public var kill: [String: Bool]
        public var filter: Double
        public var fader: Double
        public var assign: String
        public var cue: Bool
    }
    public struct Master: Codable, Sendable {
        public var crossfader: Double
        public var curve: String
        public var masterGainDb: Double?
        public var cueMix: Double
        public var cueGainDb: Double?
        public var limiterCeilingDb: Double
        public var limiterReductionDb: Double
    }
    public var decks: [Strip]
    public var master: Master

    init(_ s: EngineState) {
        decks = s.decks.map { d in
            Strip(deck: d.number, trimDb: finite(d.trimDb),
                  eq: Dictionary(uniqueKeysWithValues: EQBand.allCases.enumerated().map { ($1.rawValue, finite(d.eqDb[$0])) }),
                  kill: Dictionary(uniqueKeysWithValues: EQBand.allCases.enumerated().map { ($1.rawValue, d.kills[$0]) }),
                  filter: d.filter, fader: d.fader, assign: d.assign.rawValue, cue: d.cueBus)
        }
        master = Master(crossfader: s.crossfader, curve: s.curve.rawValue, masterGainDb: finite(s.masterGainDb),
                        cueMix: s.cueMix, cueGainDb: finite(s.cueGainDb), limiterCeilingDb: s.limiterCeilingDb,
                        limiterReductionDb: s.limiterReductionDb)
    }
}

/// nil for −inf / nan (silence), the value otherwise: JSON has no infinity.
func finite(_ v: Double) -> Double? { v.isFinite ? v : nil }
