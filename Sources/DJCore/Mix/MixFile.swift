import Foundation

/// A mix: engine settings, named tracks and a timeline of actions. The format is documented in the
/// README ("Mix files"); `Fixtures/demo-mix.json` is an example.
public struct MixFile: Sendable {
    public struct Action: Sendable {
        /// Seconds from the start of the mix.
        public var at: Double
        public var kind: String
        /// Where it came from, for messages: "timeline[3]".
        public var location: String
        /// Builds the engine command(s); `track` resolves a track name.
        let make: @Sendable (_ sampleRate: Double, _ track: (String) throws -> Track) throws -> [EngineCommand]
        /// Track names this action needs.
        public var trackName: String?
    }

    public var configuration: EngineConfiguration
    /// Track name -> absolute path.
    public var tracks: [String: String]
    public var timeline: [Action]
    /// Seconds; nil = until the last action and every deck has stopped.
    public var duration: Double?
    public var baseDirectory: String

    /// Longest mix accepted (a runaway "duration" is a typo, not a 3-day party).
    public static let maxDuration: Double = 24 * 3600

    public static func load(path: String) throws -> MixFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw MixFileError(location: path, message: exists ? "cannot read the file" : "no such file")
        }
        let absolute = path.hasPrefix("/") ? path
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        let base = ((absolute as NSString).standardizingPath as NSString).deletingLastPathComponent
        return try parse(data: data, baseDirectory: base, name: path)
    }

    public static func parse(data: Data, baseDirectory: String, name: String = "mix") throws -> MixFile {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw MixFileError(location: name, message: "not valid JSON (\(Self.jsonErrorSummary(error)))")
        }
        guard case let .object(obj) = root else {
            throw MixFileError(location: name, message: "the top level must be a JSON object")
        }
        return try MixParser(baseDirectory: baseDirectory).parse(obj)
    }

    private static func jsonErrorSummary(_ error: Error) -> String {
        if case let DecodingError.dataCorrupted(ctx) = error {
            let under = (ctx.underlyingError as NSError?).flatMap { $0.userInfo[NSDebugDescriptionErrorKey] as? String }
            return under ?? ctx.debugDescription
        }
        return "\(error)"
    }
}

/// A problem in a mix file, with where it is.
public struct MixFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// "timeline[3].value", "tracks.intro", "sampleRate" ...
    public var location: String
    public var message: String
    public var description: String { "\(location): \(message)" }
}

/// Reads the JSON object by hand so that every error names the exact entry and field.
private struct MixParser {
    let baseDirectory: String

    static let topKeys: Set<String> = ["format", "sampleRate", "decks", "duration", "tracks", "timeline",
                                       "limiterCeilingDb", "crossfaderCurve", "varispeedQuality", "title", "comment"]

    func parse(_ obj: [String: JSONValue]) throws -> MixFile {
        for key in obj.keys where !Self.topKeys.contains(key) {
            throw MixFileError(location: key, message: "unknown field (known: \(Self.topKeys.sorted().joined(separator: ", ")))")
        }
        var cfg = EngineConfiguration()
        if let v = obj["format"] {
            guard case .string("djcore-mix/1") = v else {
                throw MixFileError(location: "format", message: "unsupported format \(v.kindDescription); this reader knows \"djcore-mix/1\"")
            }
        }
        if obj["sampleRate"] != nil { cfg.sampleRate = try int(obj["sampleRate"], "sampleRate", 8000...384_000) }
        if obj["decks"] != nil { cfg.decks = try int(obj["decks"], "decks", 1...8) }
        if obj["limiterCeilingDb"] != nil {
            cfg.limiterCeilingDb = try number(obj["limiterCeilingDb"], "limiterCeilingDb", -40...0)
        }
        if let q = obj["varispeedQuality"] {
            cfg.varispeedQuality = try choice(q, "varispeedQuality", ResampleQuality.self)
        }
        var duration: Double?
        if obj["duration"] != nil { duration = try number(obj["duration"], "duration", 0.001...MixFile.maxDuration) }

        guard case let .object(tracksObj)? = obj["tracks"] else {
            throw MixFileError(location: "tracks", message: obj["tracks"] == nil
                ? "missing: an object of track names to file paths" : "must be an object of track names to file paths")
        }
        var tracks: [String: String] = [:]
        for (name, value) in tracksObj {
            guard case let .string(p) = value, !p.isEmpty else {
                throw MixFileError(location: "tracks.\(name)", message: "must be a file path (a string)")
            }
            let full = p.hasPrefix("/") ? p : (baseDirectory as NSString).appendingPathComponent(p)
            tracks[name] = (full as NSString).standardizingPath
        }
        guard case let .array(tl)? = obj["timeline"] else {
            throw MixFileError(location: "timeline", message: obj["timeline"] == nil ? "missing: a list of actions" : "must be a list of actions")
        }
        var actions: [MixFile.Action] = []
        for (i, entry) in tl.enumerated() {
            let loc = "timeline[\(i)]"
            guard case let .object(a) = entry else { throw MixFileError(location: loc, message: "must be an object") }
            let action = try parseAction(a, loc: loc, config: cfg, tracks: tracks)
            if let d = duration, action.at > d {
                throw MixFileError(location: "\(loc).at", message: "\(action.at) s is after the end of the mix (duration \(d) s)")
            }
            actions.append(action)
        }
        if let c = obj["crossfaderCurve"] {
            let curve = try choice(c, "crossfaderCurve", CrossfaderCurve.self)
            actions.insert(MixFile.Action(at: 0, kind: "curve", location: "crossfaderCurve",
                                          make: { _, _ in [.curve(curve)] }, trackName: nil), at: 0)
        }
        return MixFile(configuration: cfg, tracks: tracks, timeline: actions, duration: duration, baseDirectory: baseDirectory)
    }

    // MARK: actions

    static let actionFields: [String: Set<String>] = [
        "load": ["deck", "track", "position"], "unload": ["deck"], "play": ["deck"], "pause": ["deck"],
        "seek": ["deck", "position"], "cue": ["deck", "position"], "cue_jump": ["deck"],
        "rate": ["deck", "value", "over"], "loop": ["deck", "start", "end", "length"],
        "loop_in": ["deck", "position"], "loop_out": ["deck", "position"], "loop_exit": ["deck"],
        "loop_reenter": ["deck"], "trim": ["deck", "db", "over"], "eq": ["deck", "band", "db", "over"],
        "kill": ["deck", "band", "on"], "filter": ["deck", "value", "over"], "resonance": ["deck", "value"],
        "fader": ["deck", "value", "over"], "assign": ["deck", "side"], "pfl": ["deck", "on"],
        "crossfader": ["value", "over"], "curve": ["value"], "master": ["db", "over"],
        "cue_mix": ["value", "over"], "cue_gain": ["db", "over"], "limiter": ["ceiling_db"],
    ]

    func parseAction(_ a: [String: JSONValue], loc: String, config: EngineConfiguration, tracks: [String: String]) throws -> MixFile.Action {
        guard case let .string(kind)? = a["action"] else {
            throw MixFileError(location: "\(loc).action", message: a["action"] == nil ? "missing" : "must be a string")
        }
        guard let fields = Self.actionFields[kind] else {
            throw MixFileError(location: "\(loc).action",
                               message: "unknown action '\(kind)' (known: \(Self.actionFields.keys.sorted().joined(separator: ", ")))")
        }
        for key in a.keys where key != "action" && key != "at" && key != "comment" && !fields.contains(key) {
            throw MixFileError(location: "\(loc).\(key)",
                               message: "not a field of '\(kind)' (it takes: \((["at"] + fields.sorted()).joined(separator: ", ")))")
        }
        let at = try time(a["at"], "\(loc).at")
        func f(_ k: String) -> String { "\(loc).\(k)" }
        let deckNumber: Int = fields.contains("deck") ? try int(a["deck"], f("deck"), 1...config.decks) : 0
        func over() throws -> Double? {
            a["over"] == nil ? nil : try number(a["over"], f("over"), 0...3600)
        }
        @Sendable func ramp(_ sr: Double, _ o: Double?) -> Ramp { o.map { .frames(Int(($0 * sr).rounded())) } ?? .standard }
        func seconds(_ k: String, required: Bool) throws -> Double? {
            if a[k] == nil {
                if required { throw MixFileError(location: f(k), message: "missing (seconds)") }
                return nil
            }
            return try number(a[k], f(k), -3600...MixFile.maxDuration)
        }
        @Sendable func frames(_ s: Double, _ sr: Double) -> Int64 { Int64((s * sr).rounded()) }
        let d = deckNumber
        var trackName: String?
        let make: @Sendable (Double, (String) throws -> Track) throws -> [EngineCommand]
        switch kind {
        case "load":
            guard case let .string(name)? = a["track"] else {
                throw MixFileError(location: f("track"), message: a["track"] == nil ? "missing (a name from \"tracks\")" : "must be a track name")
            }
            guard tracks[name] != nil else {
                throw MixFileError(location: f("track"),
                                   message: "no track named '\(name)' in \"tracks\" (have: \(tracks.keys.sorted().joined(separator: ", ")))")
            }
            trackName = name
            let pos = try seconds("position", required: false) ?? 0
            make = { sr, track in [.load(deck: d, track: try track(name), position: pos * sr)] }
        case "unload": make = { _, _ in [.unload(deck: d)] }
        case "play": make = { _, _ in [.play(deck: d)] }
        case "pause": make = { _, _ in [.pause(deck: d)] }
        case "seek":
            let p = try seconds("position", required: true)!
            make = { sr, _ in [.seek(deck: d, frame: p * sr)] }
        case "cue":
            let p = try seconds("position", required: false)
            make = { sr, _ in [.setCue(deck: d, frame: p.map { frames($0, sr) })] }
        case "cue_jump": make = { _, _ in [.jumpToCue(deck: d)] }
        case "rate":
            let v = try number(a["value"], f("value"), 0.5...2.0)
            let o = try over()
            make = { sr, _ in [.rate(deck: d, v, ramp(sr, o))] }
        case "loop":
            let s = try seconds("start", required: true)!
            guard s >= 0 else { throw MixFileError(location: f("start"), message: "must be >= 0") }
            let end: Double
            if a["end"] != nil, a["length"] != nil {
                throw MixFileError(location: loc, message: "give either \"end\" or \"length\", not both")
            } else if a["length"] != nil {
                end = s + (try number(a["length"], f("length"), 0.001...3600))
            } else if a["end"] != nil {
                end = try number(a["end"], f("end"), 0...MixFile.maxDuration)
                guard end > s else { throw MixFileError(location: f("end"), message: "must be after start (\(s) s)") }
            } else {
                throw MixFileError(location: loc, message: "a loop needs \"end\" or \"length\" (seconds)")
            }
            make = { sr, _ in [.loop(deck: d, start: frames(s, sr), end: frames(end, sr))] }
        case "loop_in", "loop_out":
            let p = try seconds("position", required: false)
            let isIn = kind == "loop_in"
            make = { sr, _ in
                let fr = p.map { frames($0, sr) }
                return [isIn ? .loopIn(deck: d, frame: fr) : .loopOut(deck: d, frame: fr)]
            }
        case "loop_exit": make = { _, _ in [.loopExit(deck: d)] }
        case "loop_reenter": make = { _, _ in [.loopReenter(deck: d)] }
        case "trim":
            let db = try decibels(a["db"], f("db"), max: 18)
            let o = try over()
            make = { sr, _ in [.trim(deck: d, db: db, ramp(sr, o))] }
        case "eq":
            let band = try choice(a["band"], f("band"), EQBand.self)
            let db = try decibels(a["db"], f("db"), max: 12)
            let o = try over()
            make = { sr, _ in [.eq(deck: d, band: band, db: db, ramp(sr, o))] }
        case "kill":
            let band = try choice(a["band"], f("band"), EQBand.self)
            let on = try bool(a["on"], f("on"))
            make = { _, _ in [.kill(deck: d, band: band, on)] }
        case "filter":
            let v = try number(a["value"], f("value"), -1...1)
            let o = try over()
            make = { sr, _ in [.filter(deck: d, v, ramp(sr, o))] }
        case "resonance":
            let v = try number(a["value"], f("value"), 0.5...8)
            make = { _, _ in [.filterResonance(deck: d, v)] }
        case "fader":
            let v = try number(a["value"], f("value"), 0...1)
            let o = try over()
            make = { sr, _ in [.fader(deck: d, v, ramp(sr, o))] }
        case "assign":
            let side = try choice(a["side"], f("side"), CrossfaderSide.self)
            make = { _, _ in [.assign(deck: d, side)] }
        case "pfl":
            let on = try bool(a["on"], f("on"))
            make = { _, _ in [.cue(deck: d, on)] }
        case "crossfader":
            let v = try number(a["value"], f("value"), -1...1)
            let o = try over()
            make = { sr, _ in [.crossfader(v, ramp(sr, o))] }
        case "curve":
            let c = try choice(a["value"], f("value"), CrossfaderCurve.self)
            make = { _, _ in [.curve(c)] }
        case "master":
            let db = try decibels(a["db"], f("db"), max: 18)
            let o = try over()
            make = { sr, _ in [.masterGain(db: db, ramp(sr, o))] }
        case "cue_mix":
            let v = try number(a["value"], f("value"), 0...1)
            let o = try over()
            make = { sr, _ in [.cueMix(v, ramp(sr, o))] }
        case "cue_gain":
            let db = try decibels(a["db"], f("db"), max: 18)
            let o = try over()
            make = { sr, _ in [.cueGain(db: db, ramp(sr, o))] }
        case "limiter":
            let db = try number(a["ceiling_db"], f("ceiling_db"), -40...0)
            make = { _, _ in [.limiterCeiling(db: db)] }
        default:
            throw MixFileError(location: "\(loc).action", message: "unknown action '\(kind)'")
        }
        return MixFile.Action(at: at, kind: kind, location: loc, make: make, trackName: trackName)
    }

    // MARK: values

    func time(_ v: JSONValue?, _ loc: String) throws -> Double {
        guard let v else { throw MixFileError(location: loc, message: "missing (seconds from the start, or \"m:ss.s\")") }
        var seconds: Double?
        switch v {
        case .object:
            throw MixFileError(location: loc, message: "times in beats need beat grids, which this version does not have yet; give seconds")
        case let .number(n):
            seconds = n
        case let .string(s):
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, let m = Double(parts[0]), let sec = Double(parts[1]), m >= 0, sec >= 0, sec < 60 {
                seconds = m * 60 + sec
            } else if parts.count == 1 {
                seconds = Double(s)
            }
            if seconds == nil { throw MixFileError(location: loc, message: "'\(s)' is not a time (use seconds or \"m:ss.s\")") }
        default:
            throw MixFileError(location: loc, message: "must be seconds (a number) or \"m:ss.s\", got \(v.kindDescription)")
        }
        let t = seconds!
        guard t.isFinite, t >= 0 else { throw MixFileError(location: loc, message: "\(t) s is before the start of the mix") }
        guard t <= MixFile.maxDuration else {
            throw MixFileError(location: loc, message: "\(t) s is beyond the longest mix (\(Int(MixFile.maxDuration)) s)")
        }
        return t
    }

    func number(_ v: JSONValue?, _ loc: String, _ range: ClosedRange<Double>) throws -> Double {
        guard let v else { throw MixFileError(location: loc, message: "missing (a number in \(range.lowerBound) ... \(range.upperBound))") }
        guard case let .number(d) = v else {
            throw MixFileError(location: loc, message: "must be a number, got \(v.kindDescription)")
        }
        guard d.isFinite, range.contains(d) else {
            throw MixFileError(location: loc, message: "\(d) is outside \(range.lowerBound) ... \(range.upperBound)")
        }
        return d
    }

    func int(_ v: JSONValue?, _ loc: String, _ range: ClosedRange<Int>) throws -> Int {
        let d = try number(v, loc, Double(range.lowerBound)...Double(range.upperBound))
        guard d == d.rounded() else { throw MixFileError(location: loc, message: "must be a whole number, got \(d)") }
        return Int(d)
    }

    /// dB: a number up to `max`, or the string "-inf".
    func decibels(_ v: JSONValue?, _ loc: String, max: Double) throws -> Double {
        if case let .string(s)? = v, s == "-inf" || s == "-infinity" { return -.infinity }
        return try number(v, loc, -120...max)
    }

    func bool(_ v: JSONValue?, _ loc: String) throws -> Bool {
        guard let v else { throw MixFileError(location: loc, message: "missing (true or false)") }
        guard case let .bool(b) = v else {
            throw MixFileError(location: loc, message: "must be true or false, got \(v.kindDescription)")
        }
        return b
    }

    func choice<T: RawRepresentable & CaseIterable>(_ v: JSONValue?, _ loc: String, _ type: T.Type) throws -> T where T.RawValue == String {
        let known = T.allCases.map(\.rawValue).joined(separator: ", ")
        guard case let .string(s)? = v else {
            throw MixFileError(location: loc, message: v == nil ? "missing (one of: \(known))" : "must be one of: \(known)")
        }
        guard let t = T(rawValue: s) ?? T.allCases.first(where: { $0.rawValue.lowercased() == s.lowercased() }) else {
            throw MixFileError(location: loc, message: "'\(s)' is not one of: \(known)")
        }
        return t
    }
}
