import DJCore
import Foundation
import Logging
import Synchronization

/// `djd serve`'s core: the engine playing to the sound card, the state store, the Team Service and
/// Manager with their workers, the playlist queue, the bearer tokens and the event hub.
///
/// The HTTP/WebSocket layer (`DJServerApp`) is a thin shell over this type: each route decodes a request,
/// makes one call here or into DJCore, and encodes the answer.
///
/// Threads: the audio thread (real-time, owned by `AudioScheduler`), the scheduler's supervisor, the task
/// workers (normal priority, owned by `TeamService`), a loader queue for decoding tracks, and one control
/// loop thread that ticks the playlist queue every 10 ms and samples metrics. Requests run on Swift
/// concurrency's pool and never do long work there: decoding and analysis go to the loader queue or to
/// tasks.
public final class Daemon: @unchecked Sendable {
    public let configuration: DaemonConfiguration
    public let engine: Engine
    public let scheduler: AudioScheduler
    public let store: StateStore
    public let team: TeamService
    public let manager: TeamManager
    public let queue: QueuePlayer
    public let tokens: TokenStore
    public let hub = EventHub()
    public let metrics = DaemonMetrics()
    public let mixer: MixerControl
    public let logger: Logger
    public let startedAt = Date()

    /// What is loaded on each deck, by the engine's track id (set when a track is handed to the engine).
    let loadedTracks = Locked<[UInt64: LoadedTrack]>([:])
    private let loaderQueue = DispatchQueue(label: "djd.loader", qos: .userInitiated, attributes: .concurrent)
    private let controlState = Mutex(ControlLoopState())
    private let controlDone = DispatchSemaphore(value: 0)
    private let schedulerNotices = Locked<[String]>([])

    struct ControlLoopState {
        var running = false
        var stopRequested = false
    }

    /// Opens the state, the tokens and the sound device. Nothing plays and no task runs until `start()`.
    public init(configuration: DaemonConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        // the sound device first: if it cannot be opened nothing else is created (a first start that fails
        // here must not make tokens that are then never printed)
        let output = try AudioOutput(configuration.output, sampleRate: configuration.sampleRate, exactRate: false)
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        tokens = try TokenStore(directory: configuration.stateDirectory)
        store = try StateStore(directory: configuration.stateDirectory)
        var ec = EngineConfiguration(sampleRate: output.info.sampleRate, decks: configuration.decks)
        ec.maxPeriodFrames = max(ec.maxPeriodFrames, output.info.periodFrames)
        engine = try Engine(configuration: ec)
        mixer = MixerControl(engine: engine)
        let notices = schedulerNotices
        let log = logger
        scheduler = try AudioScheduler(engine: engine, output: output, onEvent: { event in
            if let m = event.notice {
                log.warning("\(m)")
                notices.withLock { $0.append(m) }
            }
        }, onEngineEvents: nil)

        let taskStore = try SQLiteTaskStore(path: store.database.path)
        var teamConfig = TeamConfiguration()
        if let w = configuration.workers { teamConfig.workers = w }
        teamConfig.retry.baseDelay = configuration.retryBaseSeconds
        team = try TeamService(store: taskStore, configuration: teamConfig, logger: logger)
        let engineRef = engine
        let schedulerRef = scheduler
        manager = TeamManager(service: team, engineMetrics: { Daemon.engineMetricsJSON(engine: engineRef, scheduler: schedulerRef) })

        let rate = engine.sampleRate
        let loaded = loadedTracks
        let library = store
        queue = try QueuePlayer(engine: engine, decks: (1, 2), crossfadeSeconds: configuration.crossfadeSeconds) { item in
            let track = try Track.load(path: item.path, sampleRate: rate)
            // the library's newest analysis (an analyse task may have finished since the queue started)
            let analysis = item.analysis ?? (try? library.track(id: item.trackID))??.analysis
            loaded.withLock {
                $0[track.id] = LoadedTrack(libraryID: item.trackID, path: item.path, title: item.title,
                                           duration: track.duration, analysis: analysis, engineID: track.id)
            }
            return track
        }
        registerTaskHandlers()
    }

    /// Starts the audio, the workers, the control loop; restores the queue if it was playing when the
    /// daemon last stopped (or died); makes the demo playlist if asked.
    public func start() throws {
        try engine.send([.curve(.constantPower), .assign(deck: 1, .a), .assign(deck: 2, .b), .crossfader(-1, .immediate)])
        try scheduler.start()
        try team.start()
        restoreBalance()
        queue.onEvent = { [weak self] event in self?.queueEvent(event) }
        _ = team.subscribe { [weak self] record in self?.hub.publish(type: "task", record) }
        startControlLoop()
        if let dir = configuration.demoDirectory {
            try makeDemoPlaylist(from: dir)
        } else if let q = try store.queueState(), q.playing {
            do {
                try startQueue(playlistID: q.playlistID, at: q.index)
                logger.info("resumed playlist \(q.playlistID) at entry \(q.index + 1) after a restart")
            } catch {
                logger.warning("could not resume playlist \(q.playlistID): \(error)")
            }
        }
    }

    /// Graceful shutdown: the music fades out at once (0.3 s) and the audio stops; then running tasks get
    /// `taskGrace` seconds to finish, and those still running are parked (re-queued at the next start).
    /// The queue's place stays in the store, so the next start resumes the playlist.
    public func shutdown(taskGrace: Double = 5) {
        logger.info("shutting down")
        stopControlLoop()
        scheduler.stop(fadeOut: 0.3)
        _ = team.shutdown(timeout: taskGrace)
        hub.finishAll()
        logger.info("stopped")
    }

    /// A track was (re)analysed: the decks holding it show its grid from now on, and the queue uses the
    /// analysis for the entries it has not loaded yet.
    func analysisUpdated(_ track: LibraryTrack) {
        loadedTracks.withLock { t in
            for (k, v) in t where v.libraryID == track.id { t[k]?.analysis = track.analysis }
        }
        if let pid = queuePlaylistID() { try? playlistChanged(pid) }
    }

    // MARK: - settings

    /// Keeps the balance settings (per-kind limits, workers, policy) in the store, merged with what was
    /// set before, so they survive a restart.
    func rememberBalance(_ new: BalanceSettings) throws {
        var merged = storedBalance() ?? BalanceSettings()
        if let l = new.limits { merged.limits = l }
        if let w = new.workers { merged.workers = w }
        if let p = new.policy { merged.policy = p }
        try store.setSetting("balance", try APIJSON.value(merged))
    }

    func storedBalance() -> BalanceSettings? {
        guard let v = try? store.setting("balance"), let data = try? APIJSON.encoder.encode(v) else { return nil }
        return try? APIJSON.decoder.decode(BalanceSettings.self, from: data)
    }

    /// Applies the stored balance settings; `--workers` given on the command line wins over the stored count.
    private func restoreBalance() {
        guard var b = storedBalance() else { return }
        if configuration.workers != nil { b.workers = nil }
        do { _ = try manager.setBalance(b) } catch { logger.warning("stored balance settings not applied: \(error)") }
    }

    // MARK: - tracks on decks

    /// Decodes `path` at the engine rate on the loader queue (never on a request thread).
    func loadTrack(path: String) async throws -> Track {
        let rate = engine.sampleRate
        return try await withCheckedThrowingContinuation { cont in
            loaderQueue.async {
                do { cont.resume(returning: try Track.load(path: path, sampleRate: rate)) } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// Runs blocking work (SQLite writes with fsync, file probing) off Swift concurrency's small pool.
    func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            loaderQueue.async {
                do { cont.resume(returning: try work()) } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// What is on each deck now (library entry, analysis), by deck number.
    func deckTracks(_ state: EngineState) -> [Int: LoadedTrack] {
        let known = loadedTracks.withLock { $0 }
        var out: [Int: LoadedTrack] = [:]
        for d in state.decks {
            if let id = d.trackID, let t = known[id] { out[d.number] = t }
        }
        return out
    }

    // MARK: - control loop

    private func startControlLoop() {
        controlState.withLock { $0 = ControlLoopState(running: true, stopRequested: false) }
        let t = Thread { [self] in controlLoop() }
        t.name = "djd-control"
        t.start()
    }

    private func stopControlLoop() {
        let running = controlState.withLock { s -> Bool in
            s.stopRequested = true
            return s.running
        }
        if running { controlDone.wait() }
    }

    private func controlLoop() {
        var lastMetrics = Date.distantPast
        var lastPrune = Date()
        while !controlState.withLock({ $0.stopRequested }) {
            do { try queue.tick() } catch { logger.warning("playlist queue: \(error)") }
            let now = Date()
            if now.timeIntervalSince(lastMetrics) >= 1 {
                lastMetrics = now
                metrics.sample(engine: engine, scheduler: scheduler, webSocketClients: hub.subscriberCount)
                for m in schedulerNotices.withLock({ n -> [String] in defer { n.removeAll() }; return n }) {
                    hub.publish(type: "notice", ["message": m])
                }
            }
            if now.timeIntervalSince(lastPrune) >= 10 {
                lastPrune = now
                pruneLoadedTracks()
            }
            usleep(10_000)
        }
        controlState.withLock { $0.running = false }
        controlDone.signal()
    }

    /// Forgets tracks no deck holds any more.
    private func pruneLoadedTracks() {
        let onDecks = Set(engine.state().decks.compactMap(\.trackID))
        loadedTracks.withLock { t in t = t.filter { onDecks.contains($0.key) } }
    }

    /// Keeps the queue's place in the store (so a restart, even after kill -9, resumes at the entry that
    /// was playing) and tells the WebSocket clients.
    private func queueEvent(_ event: QueueEvent) {
        hub.publish(type: "queue", event)
        switch event {
        case let .trackStarted(index?, item, _, _):
            if let pid = queuePlaylistID() {
                try? store.setQueueState(playlistID: pid, index: index, entryID: item.entryID, playing: true)
            }
        case .queueFinished:
            try? store.clearQueueState()
        default:
            break
        }
    }
}

/// A track the daemon handed to a deck, with what the library knows of it.
public struct LoadedTrack: Sendable, Codable {
    public var libraryID: Int?
    public var path: String
    public var title: String
    public var duration: Double
    public var analysis: TrackAnalysis?
    public var engineID: UInt64
}
