import Foundation

/// Renders a `MixFile` offline: decodes each track when its first `load` comes up, runs the timeline
/// through `OfflineRenderer` and writes the master to an audio file.
public struct MixRenderer {
    public let mix: MixFile
    public var periodFrames: Int

    public init(mix: MixFile, periodFrames: Int = 256) {
        self.mix = mix
        self.periodFrames = periodFrames
    }

    /// Result of a render.
    public struct Summary: Sendable {
        public var frames: UInt64
        public var sampleRate: Int
        public var seconds: Double { Double(frames) / Double(sampleRate) }
        public var peak: Float
        public var wallSeconds: Double
        public var speed: Double { wallSeconds > 0 ? seconds / wallSeconds : .infinity }
        public var events: [EngineEvent]
    }

    /// Decodes every track the timeline uses (so bad files are reported before anything renders).
    /// - Throws: `MixFileError` whose location is the first action that loads the broken track.
    public func loadTracks() throws -> [String: Track] {
        var loaded: [String: Track] = [:]
        for action in mix.timeline {
            guard let name = action.trackName, loaded[name] == nil, let path = mix.tracks[name] else { continue }
            do {
                loaded[name] = try Track.load(path: path, sampleRate: mix.configuration.sampleRate,
                                              quality: mix.configuration.loadQuality)
            } catch let e as DJCoreError {
                throw MixFileError(location: "tracks.\(name) (used by \(action.location))", message: e.description)
            }
        }
        return loaded
    }

    /// Engine frames of the mix: the explicit duration, or the end of the last action plus the time the
    /// decks still playing then need to finish (assuming they keep their rate), plus the limiter tail.
    func totalFrames(timeline: [TimedCommand]) -> UInt64 {
        let sr = Double(mix.configuration.sampleRate)
        if let d = mix.duration { return UInt64((d * sr).rounded()) }
        // Simulate transport coarsely: when each deck last started, its track and position.
        let lastAt = timeline.map(\.frame).max() ?? 0
        var longest = lastAt
        for deck in 1...mix.configuration.decks {
            var track: Track?
            var playingSince: UInt64?
            var position: Double = 0
            var rate = 1.0
            for t in timeline where t.command.deck == deck {
                if let since = playingSince { position += Double(t.frame - since) * rate; playingSince = t.frame }
                switch t.command {
                case let .load(_, tr, pos): track = tr; position = pos; playingSince = nil
                case .unload: track = nil; playingSince = nil
                case .play: if playingSince == nil { playingSince = t.frame }
                case .pause: playingSince = nil
                case let .seek(_, f): position = f
                case let .rate(_, r, _): rate = r
                case .loop: playingSince = nil // a loop plays until something else happens: bounded by lastAt
                default: break
                }
            }
            if let tr = track, let since = playingSince {
                let left = max(0, Double(tr.frameCount) - position) / rate
                longest = max(longest, since + UInt64(left.rounded(.up)))
            }
        }
        return longest + UInt64(0.05 * sr) // let the limiter's look-ahead and the declick ramps finish
    }

    /// Builds the engine timeline (frames) from the mix.
    public func timeline(tracks: [String: Track]) throws -> [TimedCommand] {
        let sr = Double(mix.configuration.sampleRate)
        var out: [TimedCommand] = []
        for action in mix.timeline {
            let commands: [EngineCommand]
            do {
                commands = try action.make(sr) { name in
                    guard let t = tracks[name] else { throw MixFileError(location: action.location, message: "track '\(name)' was not loaded") }
                    return t
                }
            } catch let e as DJCoreError {
                throw MixFileError(location: action.location, message: e.description)
            }
            let frame = UInt64((action.at * sr).rounded())
            out += commands.map { TimedCommand(frame: frame, command: $0) }
        }
        return out
    }

    /// Renders the master to `output` (format guessed from the extension when nil), and the cue
    /// (headphone) bus to `cueOutput` when given.
    public func render(to output: String, format: AudioFileFormat? = nil, cueOutput: String? = nil,
                       progress: ((_ done: Double, _ total: Double) -> Void)? = nil) throws -> Summary {
        let tracks = try loadTracks()
        let engine = try Engine(configuration: mix.configuration)
        let tl = try timeline(tracks: tracks)
        let total = totalFrames(timeline: tl)
        let writer = try AudioFileWriter(path: output, sampleRate: mix.configuration.sampleRate,
                                         format: format ?? AudioFileFormat.guess(fromPath: output) ?? .wav24)
        let cueWriter = try cueOutput.map {
            try AudioFileWriter(path: $0, sampleRate: mix.configuration.sampleRate,
                                format: format ?? AudioFileFormat.guess(fromPath: $0) ?? .wav24)
        }
        var peak: Float = 0
        let started = Date()
        let renderer = try OfflineRenderer(engine: engine, periodFrames: periodFrames)
        let sr = Double(mix.configuration.sampleRate)
        var lastReport: UInt64 = 0
        let events = try renderer.render(frames: total, timeline: tl, output: { master, cue in
            for s in master { peak = max(peak, abs(s)) }
            try writer.write(master)
            try cueWriter?.write(cue)
        }, progress: { done in
            if done - lastReport >= UInt64(sr) || done == total {
                lastReport = done
                progress?(Double(done) / sr, Double(total) / sr)
            }
        })
        try writer.close()
        try cueWriter?.close()
        return Summary(frames: total, sampleRate: mix.configuration.sampleRate, peak: peak,
                       wallSeconds: Date().timeIntervalSince(started), events: events)
    }
}
