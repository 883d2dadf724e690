import ArgumentParser
import DJCore
import Dispatch
import Foundation

struct PlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play audio files to the sound card one after another, crossfading between them.",
        discussion: """
            The daemon's playlist queue over the files: two decks take turns; while one track plays the \
            next is decoded in the background, started --crossfade seconds before the end and faded in with \
            the constant-power crossfader (beat-matched mixing is the DJ agent's, a later feature). A file \
            that cannot be loaded is reported and skipped. On a terminal a \
            status line shows the track, position, master level and underruns. Ctrl-C or SIGTERM fades out \
            over 50 ms and stops. See 'djd devices' for device names.
            """
    )

    @Argument(help: "Audio files (WAV, AIFF, FLAC, Ogg, MP3), played in order.")
    var files: [String]

    @OptionGroup var output: OutputOptions

    @Option(help: "Seconds of crossfade between tracks (0 ... 60).")
    var crossfade = 8.0

    @Option(help: "Sample rate to ask the device for; it may grant another unless --exact-rate.")
    var rate = 48000

    @Flag(name: .customLong("exact-rate"), help: "Fail unless the device takes --rate exactly.")
    var exactRate = false

    @Option(help: "Sample format: auto, S16, S24, S24_3, S32, FLOAT.")
    var format = "auto"

    @Option(help: "Output channels: 2, or 4 (master 1/2, cue 3/4). Default: 4 on a hardware device that has them.")
    var channels: Int?

    @Flag(name: .shortAndLong, help: "No status line.")
    var quiet = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one audio file") }
        guard (0...60).contains(crossfade) else { throw ValidationError("--crossfade \(crossfade) is outside 0 ... 60 s") }
        guard AudioSampleFormat(name: format) != nil else {
            throw ValidationError("--format '\(format)' is not one of auto, S16, S24, S24_3, S32, FLOAT")
        }
        guard (8000...384_000).contains(rate) else { throw ValidationError("--rate \(rate) is outside 8000 ... 384000") }
    }

    func run() throws {
        let device = try output.open(sampleRate: rate, exactRate: exactRate, format: AudioSampleFormat(name: format)!,
                                     channels: channels)
        let session = try PlaySession(files: files, output: device, crossfade: crossfade,
                                      terminal: !quiet && isatty(STDERR_FILENO) == 1, quiet: quiet)
        let code = try session.run()
        if code != 0 { throw ExitCode(code) }
    }
}

/// Stop requests from SIGINT / SIGTERM.
final class StopSignal: Sendable {
    private let flag = Locked<Int32>(0)
    private let sources = Locked<[DispatchSourceSignal]>([])

    init(signals: [Int32] = [SIGINT, SIGTERM]) {
        for s in signals {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            src.setEventHandler { [flag] in flag.withLock { $0 = s } }
            src.resume()
            sources.withLock { $0.append(src) }
        }
    }

    /// The signal received, or 0.
    var received: Int32 { flag.withLock { $0 } }
}

/// One `djd play` run: DJCore's `QueuePlayer` (the daemon's playlist queue) over the files, on the
/// live scheduler, with a status line.
final class PlaySession: @unchecked Sendable {
    let files: [String]
    let engine: Engine
    let scheduler: AudioScheduler
    let crossfadeSeconds: Double
    let terminal: Bool
    let quiet: Bool
    let rate: Int

    private let messages = Locked<[String]>([])
    /// Durations of the files decoded so far, by queue index.
    private let durations = Locked<[Int: Double]>([:])

    init(files: [String], output: AudioOutput, crossfade: Double, terminal: Bool, quiet: Bool) throws {
        self.files = files
        self.crossfadeSeconds = crossfade
        self.terminal = terminal
        self.quiet = quiet
        rate = output.info.sampleRate
        engine = try Engine(configuration: OutputOptions.engineConfiguration(for: output, decks: 2))
        let messages = self.messages
        scheduler = try AudioScheduler(engine: engine, output: output, onEvent: { event in
            if let m = event.notice { messages.withLock { $0.append(m) } }
        }, onEngineEvents: { _ in })
    }

    /// Prints the scheduler's notices that arrived since the last call.
    private func sayMessages() {
        for m in messages.withLock({ m -> [String] in defer { m.removeAll() }; return m }) { say(m) }
    }

    private func say(_ text: String) {
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        FileHandle.standardError.write(Data("djd play: \(text)\n".utf8))
    }

    /// Plays everything; returns the exit code (0: all played or stopped by a signal; 1: nothing playable).
    func run() throws -> Int32 {
        let stop = StopSignal()
        let rate = self.rate, durations = self.durations
        let player = try QueuePlayer(engine: engine, decks: (1, 2), crossfadeSeconds: crossfadeSeconds) { item in
            let t = try Track.load(path: item.path, sampleRate: rate)
            durations.withLock { $0[item.entryID] = t.duration }
            return t
        }
        let events = Locked<[QueueEvent]>([])
        player.onEvent = { e in events.withLock { $0.append(e) } }
        let items = files.enumerated().map { i, path in
            QueueItem(entryID: i, trackID: i, path: path, title: ((path as NSString).lastPathComponent as NSString).deletingPathExtension)
        }
        let info = scheduler.output
        if !quiet {
            say(String(format: "%@: %d Hz, %@, %d channels%@, period %d frames × %d (%.1f ms buffer)",
                       info.device, info.sampleRate, info.format, info.channels,
                       info.cueOnChannels3And4 ? " (cue on 3/4)" : "", info.periodFrames, info.periods,
                       info.bufferLatency * 1000))
        }
        try scheduler.start()
        defer { scheduler.stop(fadeOut: 0) }
        try player.start(items: items, at: 0)

        var played = 0
        var finished = false
        var lastDraw = Date.distantPast
        while stop.received == 0 && !finished {
            try player.tick()
            for e in events.withLock({ e -> [QueueEvent] in defer { e.removeAll() }; return e }) {
                switch e {
                case let .trackStarted(index, item, _, _):
                    played += 1
                    if !terminal && !quiet {
                        let d = durations.withLock { $0[item.entryID] } ?? 0
                        print("now playing \((index ?? item.entryID) + 1)/\(files.count): \(item.path) (\(clock(d)))")
                        fflush(nil)
                    }
                case let .itemSkipped(_, item, error):
                    say("skipping \(item.path): \(error)")
                case .queueFinished:
                    finished = true
                default:
                    break
                }
            }
            sayMessages()
            if terminal, Date().timeIntervalSince(lastDraw) >= 0.1 {
                lastDraw = Date()
                drawStatus(player.status)
            }
            usleep(10_000)
        }
        let signalled = stop.received != 0
        scheduler.stop(fadeOut: signalled ? 0.05 : 0)
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        sayMessages()
        let stats = scheduler.stats
        if !quiet {
            say(String(format: "%@ — %d of %d files played, %llu underruns, worst period render %.2f ms (%.1f %% of the period)",
                       signalled ? "stopped" : "done", played, files.count, stats.underruns, stats.renderMax * 1000,
                       stats.maxLoad * 100))
        }
        return played == 0 && !signalled ? 1 : 0
    }

    private func drawStatus(_ q: QueueStatus) {
        guard let item = q.current else { return }
        let s = engine.state()
        let pos = q.position ?? 0, duration = q.duration ?? 0
        let name = (item.path as NSString).lastPathComponent
        let peak = s.master.peakDb
        let level = peak.isFinite ? String(format: "%6.1f dB", peak) : "  -inf dB"
        let meterWidth = 20
        let filled = peak.isFinite ? max(0, min(meterWidth, Int((peak + 60) / 60 * Double(meterWidth)))) : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: meterWidth - filled)
        let line = String(format: "\r\u{1B}[K▶ %d/%d %@  %@ / %@  [%@] %@  underruns %llu",
                          (q.index ?? item.entryID) + 1, files.count, String(name.prefix(40)), clock(min(pos, duration)),
                          clock(duration), bar, level, scheduler.stats.underruns)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
