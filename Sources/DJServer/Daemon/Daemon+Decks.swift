import DJCore
import Foundation

/// One deck as the API shows it (`GET /api/dj/decks/{n}`, in `/api/dj/status` and on the WebSocket).
public struct DeckStatus: Codable, Sendable {
    public struct TrackInfo: Codable, Sendable {
        public var libraryID: Int?
        public var path: String
        public var title: String
        public var bpm: Double?
        public var key: String?
        public var camelot: String?
    }
    public var deck: Int
    public var loaded: Bool
    public var track: TrackInfo?
    /// Seconds into the track.
    public var position: Double
    public var duration: Double
    public var playing: Bool
    public var rate: Double
    /// The track's tempo at the current rate, when it was analysed.
    public var bpm: Double?
    /// Index of the beat last passed and how far (0 ..< 1) towards the next, when the track has a grid.
    public var beat: Int?
    public var beatPhase: Double?
    public var cue: Double
    public var loop: LoopInfo?
    /// Peak and RMS level of the channel, dBFS (null: silent).
    public var peakDb: Double?
    public var rmsDb: Double?

    public struct LoopInfo: Codable, Sendable {
        public var start: Double
        public var end: Double
        public var active: Bool
    }

    init(_ d: DeckState, track: LoadedTrack?, sampleRate: Int) {
        let sr = Double(sampleRate)
        deck = d.number
        loaded = d.trackID != nil
        position = d.position / sr
        duration = Double(d.length) / sr
        playing = d.playing
        rate = d.rate
        cue = Double(d.cue) / sr
        if d.loopEnd > d.loopStart {
            loop = LoopInfo(start: Double(d.loopStart) / sr, end: Double(d.loopEnd) / sr, active: d.loopActive)
        }
        peakDb = finite(d.meter.peakDb)
        let rms = Double(d.meter.rms.max() ?? 0)
        rmsDb = rms > 0 ? finite(20 * log10(rms)) : nil
        if let t = track {
            let a = t.analysis
            self.track = TrackInfo(libraryID: t.libraryID, path: t.path, title: t.title, bpm: a?.bpm, key: a?.key,
                                   camelot: a?.camelot)
            if let bpm = a?.bpm { self.bpm = bpm * d.rate }
            if let beats = a?.beats, beats.count >= 2 {
                let (i, phase) = Self.beatPhase(beats, at: position)
                beat = i
                beatPhase = phase
            }
        }
    }

    /// The last beat at or before `t` and the fraction of the way to the next one (binary search).
    static func beatPhase(_ beats: [Double], at t: Double) -> (Int?, Double?) {
        guard let first = beats.first, t >= first else { return (nil, nil) }
        var lo = 0, hi = beats.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if beats[mid] <= t { lo = mid } else { hi = mid - 1 }
        }
        let next = lo + 1 < beats.count ? beats[lo + 1] : beats[lo] + (beats[lo] - beats[max(0, lo - 1)])
        let span = next - beats[lo]
        return (lo, span > 0 ? min(0.999999, (t - beats[lo]) / span) : 0)
    }
}

extension Daemon {
    public func deckStatuses() -> [DeckStatus] {
        let s = engine.state()
        let tracks = deckTracks(s)
        return s.decks.map { DeckStatus($0, track: tracks[$0.number], sampleRate: engine.sampleRate) }
    }

    func checkDeck(_ n: Int) throws {
        guard (1...engine.configuration.decks).contains(n) else {
            throw APIError.notFound("deck \(n) does not exist (decks are 1 ... \(engine.configuration.decks))")
        }
    }

    /// Refuses manual loads on the decks the playlist queue is using while it plays.
    func checkNotQueueDeck(_ n: Int, action: String) throws {
        let st = queue.status
        if st.state != .idle && (n == 1 || n == 2) {
            throw APIError(409, "conflict", "deck \(n) is playing the playlist queue; stop the queue (POST /api/dj/playlist/stop) before you \(action) it, or use decks 3 ... \(engine.configuration.decks)")
        }
    }

    /// Loads a file (from the library by id, or by path) onto a deck.
    public func loadDeck(_ deck: Int, _ f: Fields) async throws -> DeckStatus {
        try checkDeck(deck)
        try f.only(["path", "trackID", "position", "play"])
        try checkNotQueueDeck(deck, action: "load")
        let position = try f.optionalDouble("position", in: 0...86400, unit: " s") ?? 0
        let play = try f.optionalBool("play") ?? false
        var libraryID: Int?
        var analysis: TrackAnalysis?
        let path: String
        if let id = try f.optionalInt("trackID", in: 1...Int.max) {
            guard let entry = try await offload({ [store] in try store.track(id: id) }) else {
                throw APIError.notFound("track \(id) does not exist in the library")
            }
            libraryID = entry.id
            analysis = entry.analysis
            path = entry.path
        } else {
            let p = try f.string("path")
            path = (p as NSString).standardizingPath
            if let found = try? await offload({ [store] in try store.track(path: path) }), let entry = Optional(found) {
                libraryID = entry.id
                analysis = entry.analysis
            }
        }
        let track = try await loadTrack(path: path)
        let title = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        loadedTracks.withLock {
            $0[track.id] = LoadedTrack(libraryID: libraryID, path: path, title: title, duration: track.duration,
                                       analysis: analysis, engineID: track.id)
        }
        var cmds: [EngineCommand] = [.load(deck: deck, track: track, position: position * Double(engine.sampleRate))]
        if play { cmds.append(.play(deck: deck)) }
        try engine.send(cmds)
        return try await settledStatus(deck) { $0.loaded }
    }

    /// Transport: play, pause, cue, seek, rate, loop. Returns the deck once the engine has applied it.
    public func transport(_ deck: Int, action: String, _ f: Fields) async throws -> DeckStatus {
        try checkDeck(deck)
        let sr = Double(engine.sampleRate)
        let state = engine.state().decks[deck - 1]
        let track = deckTracks(engine.state())[deck]
        func needTrack() throws {
            guard state.trackID != nil else { throw APIError(409, "conflict", "deck \(deck) has no track loaded") }
        }
        var cmds: [EngineCommand] = []
        switch action {
        case "play":
            try f.only([])
            try needTrack()
            cmds = [.play(deck: deck)]
        case "pause":
            try f.only([])
            cmds = [.pause(deck: deck)]
        case "cue":
            // {"set": true} sets the cue point here (or at "position"); {} jumps back to it.
            try f.only(["set", "position"])
            try needTrack()
            if try f.optionalBool("set") == true {
                let pos = try f.optionalDouble("position", in: 0...86400, unit: " s")
                cmds = [.setCue(deck: deck, frame: pos.map { Int64($0 * sr) })]
            } else {
                guard !f.has("position") else { throw APIError.badRequest("'position' is only taken with \"set\": true") }
                cmds = [.jumpToCue(deck: deck)]
            }
        case "seek":
            // {"position": seconds} or {"beat": n} (needs a beat grid)
            try f.only(["position", "beat"])
            try needTrack()
            let length = Double(state.length) / sr
            if let b = try f.optionalInt("beat", in: 0...1_000_000) {
                guard let beats = track?.analysis?.beats, !beats.isEmpty else {
                    throw APIError(409, "conflict", "deck \(deck)'s track has no beat grid (analyse it first)")
                }
                guard b < beats.count else { throw APIError.badRequest("'beat' \(b) is past the last beat (\(beats.count - 1))") }
                cmds = [.seek(deck: deck, frame: beats[b] * sr)]
            } else {
                let p = try f.double("position", in: 0...max(0, length), unit: " s")
                cmds = [.seek(deck: deck, frame: p * sr)]
            }
        case "rate":
            // {"rate": 0.5 ... 2} or {"bpm": target} (needs the track's tempo); "rampSeconds" glides.
            try f.only(["rate", "bpm", "rampSeconds"])
            let ramp = try f.optionalDouble("rampSeconds", in: 0...60, unit: " s")
            var r: Double
            if let bpm = try f.optionalDouble("bpm", in: 20...400) {
                guard let base = track?.analysis?.bpm else {
                    throw APIError(409, "conflict", "deck \(deck)'s track has no known tempo (analyse it first, or give 'rate')")
                }
                r = bpm / base
                guard (0.5...2).contains(r) else {
                    throw APIError.badRequest("'bpm' \(fmt(bpm)) needs rate \(String(format: "%.3f", r)) from the track's \(String(format: "%.2f", base)) BPM, outside 0.5 ... 2")
                }
            } else {
                r = try f.double("rate", in: 0.5...2)
            }
            cmds = [.rate(deck: deck, r, ramp.map { $0 == 0 ? .immediate : .frames(Int($0 * sr)) } ?? .standard)]
        case "loop":
            // {"start": s, "end": s} | {"beats": n} from the current beat | {"action": "exit" | "reenter"}
            try f.only(["start", "end", "beats", "action"])
            if let a = try f.optionalChoice("action", ["exit", "reenter"]) {
                cmds = [a == "exit" ? .loopExit(deck: deck) : .loopReenter(deck: deck)]
            } else if let n = try f.optionalDouble("beats", in: 0.0625...64) {
                try needTrack()
                guard let beats = track?.analysis?.beats, beats.count >= 2 else {
                    throw APIError(409, "conflict", "deck \(deck)'s track has no beat grid (analyse it first, or give 'start' and 'end')")
                }
                let pos = state.position / sr
                let (i, _) = DeckStatus.beatPhase(beats, at: pos)
                let idx = i ?? 0
                let beatLen = (beats.last! - beats.first!) / Double(beats.count - 1)
                let start = beats[idx]
                cmds = [.loop(deck: deck, start: Int64(start * sr), end: Int64((start + n * beatLen) * sr))]
            } else {
                try needTrack()
                let s = try f.double("start", in: 0...86400, unit: " s")
                let e = try f.double("end", in: 0...86400, unit: " s")
                guard e > s else { throw APIError.badRequest("loop 'end' \(fmt(e)) s must be after 'start' \(fmt(s)) s") }
                guard e - s >= 0.01 else { throw APIError.badRequest("a loop must be at least 10 ms long") }
                cmds = [.loop(deck: deck, start: Int64(s * sr), end: Int64(e * sr))]
            }
        default:
            throw APIError.notFound("deck action '\(action)' does not exist (play, pause, cue, seek, rate, loop, load)")
        }
        let applied = engine.state().commandsApplied + UInt64(cmds.count)
        try engine.send(cmds)
        return try await settledStatus(deck) { _ in self.engine.state().commandsApplied >= applied }
    }

    /// Waits (up to 2 s, in 5 ms steps; normally one period) until the audio side has applied what was
    /// sent, then reports the deck. If the engine is not running (device lost) the answer comes anyway,
    /// with the state as it is.
    func settledStatus(_ deck: Int, until done: @Sendable (DeckStatus) -> Bool) async throws -> DeckStatus {
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            let d = deckStatuses()[deck - 1]
            if done(d) { return d }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        return deckStatuses()[deck - 1]
    }
}
