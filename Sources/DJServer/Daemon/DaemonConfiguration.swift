import DJCore
import Foundation

/// Everything `djd serve` is started with.
public struct DaemonConfiguration: Sendable {
    /// Address to listen on. Loopback by default: the API is then reachable from this machine only.
    public var host = "127.0.0.1"
    /// TCP port; 0 takes a free one (the daemon says which).
    public var port = 8080
    /// Where the SQLite state, the tokens, stems and renders live.
    public var stateDirectory: String
    /// The sound device (or the clock-paced null / file output).
    public var output: AudioOutputConfiguration
    /// Sample rate asked of the device (it may grant another; the engine follows it).
    public var sampleRate = 48000
    public var decks = 4
    /// Let GET calls through without a token when listening on loopback.
    public var openReads = true
    /// Task workers; nil: one fewer than the cores (the audio thread keeps one), at least 1.
    public var workers: Int?
    /// Largest request body accepted (bytes).
    public var maxBodyBytes = 1 << 20
    /// How often the WebSocket streams deck state (per second).
    public var statusRate = 10.0
    /// Seconds of crossfade the playlist queue uses.
    public var crossfadeSeconds = 8.0
    /// A folder of audio files: on start, the playlist "demo" is made from them (if it does not exist)
    /// and the queue starts playing it.
    public var demoDirectory: String?
    /// Retry back-off base for tasks, seconds (tests make it short).
    public var retryBaseSeconds = 1.0

    public init(stateDirectory: String, output: AudioOutputConfiguration) {
        self.stateDirectory = stateDirectory
        self.output = output
    }

    /// True when `host` is a loopback address (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw DJCoreError.invalidArgument("--port \(port) is outside 0 ... 65535") }
        guard (1...8).contains(decks) else { throw DJCoreError.invalidArgument("decks \(decks) is outside 1 ... 8") }
        guard decks >= 2 else { throw DJCoreError.invalidArgument("the playlist queue needs at least 2 decks") }
        if let w = workers, !(1...64).contains(w) { throw DJCoreError.invalidArgument("--workers \(w) is outside 1 ... 64") }
        guard (1...60).contains(statusRate) else { throw DJCoreError.invalidArgument("status rate \(statusRate) is outside 1 ... 60 per second") }
        guard (0...60).contains(crossfadeSeconds) else { throw DJCoreError.invalidArgument("--crossfade \(crossfadeSeconds) is outside 0 ... 60 s") }
        guard (1024...(256 << 20)).contains(maxBodyBytes) else { throw DJCoreError.invalidArgument("max body \(maxBodyBytes) bytes is outside 1 KiB ... 256 MiB") }
    }
}
