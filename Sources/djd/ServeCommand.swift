import ArgumentParser
import DJCore
import DJServer
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: the engine on the sound card, the HTTP + WebSocket API, and the task workers.",
        discussion: """
            State (library, analysis, playlists, tasks, settings) is kept in SQLite under --state \
            (default $XDG_STATE_HOME/djcore or ~/.local/state/djcore). On first start two bearer tokens are \
            made (admin and read-only), stored in <state>/tokens.json (mode 0600) and printed once. \
            Changing anything needs the admin token; reads are open on loopback. SIGTERM or Ctrl-C fades \
            out, lets running tasks finish (or parks them for the next start) and stops. Without a sound \
            card, --output null or --output file:mix.wav runs the same live path, paced in real time. \
            The API is described at /openapi.json.
            """
    )

    @Option(help: "Address to listen on (loopback by default; anything else needs tokens for every call).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0: any free port; the daemon says which).")
    var port = 8080

    @Option(help: "State directory (SQLite database, tokens, stems).")
    var state: String?

    @OptionGroup var output: OutputOptions

    @Option(help: "Sample format: auto, S16, S24, S24_3, S32, FLOAT (for file:PATH, the WAV's format).")
    var format = "auto"

    @Option(help: "Decks (2 ... 8); the playlist queue uses decks 1 and 2.")
    var decks = 4

    @Option(help: "Task workers (default: one fewer than the cores, at least 1).")
    var workers: Int?

    @Option(help: "Seconds of crossfade between playlist tracks (0 ... 60).")
    var crossfade = 8.0

    @Option(help: "Make the playlist 'demo' from the audio files in this folder (once) and play it.")
    var demo: String?

    @Option(name: .customLong("log-format"), help: "Log lines as text or json.")
    var logFormat = "text"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(name: .customLong("tokens-for-reads"), help: "Ask for a token on read calls too, even on loopback.")
    var tokensForReads = false

    func validate() throws {
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json, got '\(logFormat)'") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a swift-log level") }
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is outside 0 ... 65535") }
        guard AudioSampleFormat(name: format) != nil else {
            throw ValidationError("--format '\(format)' is not one of auto, S16, S24, S24_3, S32, FLOAT")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "djd")
        var config = DaemonConfiguration(stateDirectory: state ?? StateStore.defaultDirectory(),
                                         output: try output.configuration(format: AudioSampleFormat(name: format)!))
        config.host = host
        config.port = port
        config.decks = decks
        config.workers = workers
        config.crossfadeSeconds = crossfade
        config.demoDirectory = demo
        config.openReads = !tokensForReads
        let daemon: Daemon
        do {
            daemon = try Daemon(configuration: config, logger: logger)
        } catch let e as DJCoreError {
            output.reportOpenFailure(e)
            throw ExitCode(3)
        }
        if daemon.tokens.created {
            // said once: later starts only say where they are
            print("""
                djd: new API tokens (stored in \(daemon.tokens.path), mode 0600):
                  admin:     \(daemon.tokens.admin)
                  read-only: \(daemon.tokens.readOnly)
                """)
        } else {
            print("djd: API tokens are in \(daemon.tokens.path)")
        }
        try daemon.start()
        let info = daemon.scheduler.output
        logger.info("audio: \(info.device), \(info.sampleRate) Hz, period \(info.periodFrames) × \(info.periods)\(info.recordingPath.map { ", recording to \($0)" } ?? "")")
        let infoPath = (config.stateDirectory as NSString).appendingPathComponent("daemon.json")
        let host = config.host
        let app = DJServerApp.buildApplication(daemon: daemon) { port in
            let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
            print("djd: listening on \(url) (API description: \(url)/openapi.json)")
            fflush(nil)
            // for scripts and tests: where this daemon listens (removed again on a clean stop)
            let info: [String: Any] = ["pid": Int(getpid()), "port": port, "url": url]
            if let data = try? JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]) {
                try? data.write(to: URL(fileURLWithPath: infoPath), options: .atomic)
            }
        }
        defer { try? FileManager.default.removeItem(atPath: infoPath) }
        do {
            try await app.runService()
        } catch {
            daemon.shutdown()
            throw error
        }
        daemon.shutdown()
    }
}
