import CDSP
import Foundation
import Synchronization

/// What the scheduler reports to its owner (for a log or a status line). Never sent from the audio thread.
public enum AudioSchedulerEvent: Sendable, Equatable {
    /// The audio thread runs; the device granted `info`.
    case started(AudioOutputInfo)
    /// SCHED_FIFO was refused (said once per scheduler): the audio thread runs at normal priority.
    case realtimeRefused(String)
    /// Memory locking was refused (said once per scheduler).
    case memoryLockRefused(String)
    /// The underrun count went up to `total` (each is recovered: playback carries on).
    case underruns(total: UInt64)
    /// The device failed; the scheduler will try to reopen it.
    case deviceFailed(String)
    /// A reopen attempt failed; the next comes after `retryIn` seconds.
    case reopenFailed(attempt: Int, error: String, retryIn: Double)
    /// The device is back and playing.
    case reopened(AudioOutputInfo)
}

extension AudioSchedulerEvent {
    /// The line to show a person for this event (a log line, a status notice), or nil for those not worth
    /// one (a start, the running underrun count).
    public var notice: String? {
        switch self {
        case let .realtimeRefused(m), let .memoryLockRefused(m), let .deviceFailed(m): return m
        case let .reopenFailed(attempt, error, retry):
            return "reopen attempt \(attempt) failed: \(error); next in \(String(format: "%.1f", retry)) s"
        case let .reopened(info): return "sound device '\(info.device)' reopened"
        case .started, .underruns: return nil
        }
    }
}

/// Counters and timings of the live path.
public struct AudioSchedulerStats: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case running, reopening, stopped
    }
    public var state: State
    public var output: AudioOutputInfo
    /// Periods rendered and written, over every device opening.
    public var periods: UInt64
    /// Underruns recovered.
    public var underruns: UInt64
    /// Times the device failed (and was reopened, or is being reopened).
    public var deviceFailures: Int
    public var reopenAttempts: Int
    /// nil until the audio thread has asked.
    public var realtime: Bool?
    public var memoryLocked: Bool
    /// Render time of one period, in seconds: the last, the worst, the mean.
    public var renderLast: Double
    public var renderMax: Double
    public var renderMean: Double
    /// Render time / period time, in bins of 0.5 %; the last bin holds everything from 99.5 %.
    public var loadHistogram: [UInt64]
    /// A virtual output's counters (frames, frames dropped by a recording that fell behind, frames in the
    /// file); nil on a sound card.
    public var virtualOutput: AudioOutput.VirtualStats? = nil

    public var periodSeconds: Double { Double(output.periodFrames) / Double(output.sampleRate) }
    /// The worst render time as a fraction of the period.
    public var maxLoad: Double { renderMax / periodSeconds }
    /// The `p`-th percentile (0 ... 1) of render time / period time, to the upper edge of its 0.5 % bin.
    public func loadPercentile(_ p: Double) -> Double {
        let total = loadHistogram.reduce(0, +)
        guard total > 0 else { return 0 }
        let rank = UInt64((p * Double(total)).rounded(.up))
        var seen: UInt64 = 0
        for (i, n) in loadHistogram.enumerated() {
            seen += n
            if seen >= max(rank, 1) { return Double(i + 1) * 0.005 }
        }
        return 1
    }
}

/// Counters summed over the audio threads a scheduler has run (one per device opening).
private struct PlayerTotals {
    var periods: UInt64 = 0
    var xruns: UInt64 = 0
    var renderMax: UInt64 = 0
    var renderTotal: UInt64 = 0
    var histogram = [UInt64](repeating: 0, count: Int(CDSP_PLAYER_LOAD_BINS))

    /// Adds player `p`'s counters; returns its stats.
    @discardableResult
    mutating func add(_ p: OpaquePointer) -> cdsp_player_stats {
        var st = cdsp_player_stats()
        cdsp_player_stats_get(p, &st)
        periods += st.periods
        xruns += st.xruns
        renderMax = max(renderMax, st.render_ns_max)
        renderTotal += st.render_ns_total
        var bins = [UInt64](repeating: 0, count: histogram.count)
        _ = bins.withUnsafeMutableBufferPointer { cdsp_player_load_histogram(p, $0.baseAddress, $0.count) }
        for i in bins.indices { histogram[i] += bins[i] }
        return st
    }
}

/// A function the audio thread calls at fixed points of its loop (see `cdsp_player_hook_phase`).
/// A test seam for the real-time checks; production code passes none.
public struct AudioThreadHook: @unchecked Sendable {
    public var function: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Void
    public var context: UnsafeMutableRawPointer?
    public init(function: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Void, context: UnsafeMutableRawPointer?) {
        self.function = function
        self.context = context
    }
}

/// The real-time scheduler: one audio thread that waits for room on the sound card, renders one period of
/// the engine and writes it, and a supervisor thread at normal priority that watches it.
///
/// The audio thread asks for SCHED_FIFO (and memory locking); a refusal is reported once as an event.
/// Underruns are recovered and counted. A device that fails (unplugged, its server gone, silent for too
/// long) is closed and reopened with back-off — `reopenFailed` events say each attempt — while the
/// engine waits: its clock does not run, so no audio is skipped. The supervisor also collects the
/// engine's events (tracks handed back, track ends) and passes them to `onEngineEvents`.
///
/// Thread-safety: all methods may be called from any thread; `start` and `stop` from one at a time.
/// Lifetime: a started scheduler keeps itself alive (its supervisor thread holds it) until `stop()`.
public final class AudioScheduler: @unchecked Sendable {
    public let engine: Engine
    public let configuration: AudioOutputConfiguration
    private let hook: AudioThreadHook?
    private let onEvent: (@Sendable (AudioSchedulerEvent) -> Void)?
    private let onEngineEvents: (@Sendable ([EngineEvent]) -> Void)?

    private struct Shared {
        var output: AudioOutput?
        var player: OpaquePointer?
        var info: AudioOutputInfo
        var state: AudioSchedulerStats.State = .stopped
        var stopRequested = false
        var supervisorRunning = false
        /// totals from players already torn down
        var finished = PlayerTotals()
        var failures = 0
        var attempts = 0
        var realtime: Bool?
        var memoryLocked = false
        var reportedRealtime = false
        var reportedMemoryLock = false
        var reportedXruns: UInt64 = 0
        /// a virtual output's counters as it was closed
        var closedVirtual: AudioOutput.VirtualStats?
    }
    private let shared: Mutex<Shared>
    private let supervisorDone = DispatchSemaphore(value: 0)

    /// Takes over `output` (opened at the engine's sample rate). Nothing plays until `start()`.
    /// - Parameters:
    ///   - onEvent: scheduler events (real-time refused, underruns, device failures), on the supervisor thread.
    ///   - onEngineEvents: the engine's events, collected every few milliseconds; nil leaves polling to you.
    public init(engine: Engine, output: AudioOutput,
                onEvent: (@Sendable (AudioSchedulerEvent) -> Void)? = nil,
                onEngineEvents: (@Sendable ([EngineEvent]) -> Void)? = nil,
                audioThreadHook: AudioThreadHook? = nil) throws {
        guard output.info.sampleRate == engine.sampleRate else {
            throw DJCoreError.invalidArgument(
                "the device runs at \(output.info.sampleRate) Hz but the engine at \(engine.sampleRate) Hz")
        }
        guard output.info.periodFrames <= engine.configuration.maxPeriodFrames else {
            throw DJCoreError.invalidArgument(
                "the device period of \(output.info.periodFrames) frames exceeds the engine's maxPeriodFrames \(engine.configuration.maxPeriodFrames)")
        }
        self.engine = engine
        self.configuration = output.configuration
        self.hook = audioThreadHook
        self.onEvent = onEvent
        self.onEngineEvents = onEngineEvents
        shared = Mutex(Shared(output: output, info: output.info))
    }

    /// Opens `configuration.device` at the engine's rate and builds a scheduler on it.
    public convenience init(engine: Engine, configuration: AudioOutputConfiguration,
                            onEvent: (@Sendable (AudioSchedulerEvent) -> Void)? = nil,
                            onEngineEvents: (@Sendable ([EngineEvent]) -> Void)? = nil,
                            audioThreadHook: AudioThreadHook? = nil) throws {
        let output = try AudioOutput(configuration, sampleRate: engine.sampleRate, exactRate: true)
        try self.init(engine: engine, output: output, onEvent: onEvent, onEngineEvents: onEngineEvents,
                      audioThreadHook: audioThreadHook)
    }

    deinit {
        stop(fadeOut: 0)
    }

    /// What the device granted (the latest opening).
    public var output: AudioOutputInfo { shared.withLock { $0.info } }

    /// Starts the audio thread and its supervisor.
    public func start() throws {
        let info: AudioOutputInfo = try shared.withLock { s in
            guard s.state == .stopped, !s.supervisorRunning else {
                throw DJCoreError.invalidArgument("the scheduler is already running")
            }
            if s.output == nil {
                s.output = try AudioOutput(configuration, sampleRate: engine.sampleRate, exactRate: true)
                s.info = s.output!.info
            }
            s.player = try startPlayer(on: s.output!)
            s.state = .running
            s.stopRequested = false
            s.supervisorRunning = true
            return s.info
        }
        onEvent?(.started(info))
        let thread = Thread { [self] in supervise() }
        thread.name = "djcore-audio-supervisor"
        thread.start()
    }

    /// Stops playing: fades the master out over `fadeOut` seconds (no click), lets the device play what it
    /// holds, then stops the audio thread and closes the device. The master gain is put back afterwards,
    /// so the engine can be started again.
    public func stop(fadeOut: Double = 0.05) {
        let running = shared.withLock { $0.state == .running && $0.player != nil }
        var restoreGain: Double?
        if running && fadeOut > 0 {
            let gain = engine.state().masterGainDb
            let frames = max(1, Int(fadeOut * Double(engine.sampleRate)))
            if (try? engine.send(.masterGain(db: -.infinity, .frames(frames)))) != nil {
                restoreGain = gain
                let target = engine.frame + UInt64(output.periodFrames * 2 + frames)
                let deadline = Date().addingTimeInterval(fadeOut + 1)
                while engine.frame < target && Date() < deadline && shared.withLock({ $0.state == .running }) {
                    usleep(2000)
                }
            }
        }
        defer {
            // after the audio thread has stopped: the next start plays at the gain the user had
            if let g = restoreGain { _ = try? engine.send(.masterGain(db: g, .immediate)) }
        }
        let wasSupervised = shared.withLock { s -> Bool in
            s.stopRequested = true
            return s.supervisorRunning
        }
        if wasSupervised { supervisorDone.wait() }
        var last: [AudioSchedulerEvent] = []
        shared.withLock { s in
            if let p = s.player {
                cdsp_player_stop(p)
                observe(p, &s, &last)
                tearDownPlayer(&s)
                s.output?.drain(timeout: Double(s.info.bufferFrames) / Double(s.info.sampleRate) + 0.2)
            }
            s.output?.close()
            if let v = s.output?.virtualStats { s.closedVirtual = v }
            s.output = nil
            s.state = .stopped
        }
        for e in last { onEvent?(e) }
        if let onEngineEvents {
            let events = engine.pollEvents()
            if !events.isEmpty { onEngineEvents(events) }
        }
    }

    /// Counters and timings so far.
    public var stats: AudioSchedulerStats {
        shared.withLock { s in
            var t = s.finished
            var last: UInt64 = 0
            if let p = s.player { last = t.add(p).render_ns_last }
            return AudioSchedulerStats(
                state: s.state, output: s.info, periods: t.periods, underruns: t.xruns, deviceFailures: s.failures,
                reopenAttempts: s.attempts, realtime: s.realtime, memoryLocked: s.memoryLocked,
                renderLast: Double(last) / 1e9, renderMax: Double(t.renderMax) / 1e9,
                renderMean: t.periods > 0 ? Double(t.renderTotal) / 1e9 / Double(t.periods) : 0,
                loadHistogram: t.histogram, virtualOutput: s.output?.virtualStats ?? s.closedVirtual)
        }
    }

    /// CLOCK_MONOTONIC now, in nanoseconds: the clock `heardFrame(at:)` takes.
    public static func monotonicNanoseconds() -> UInt64 { cdsp_monotonic_ns() }

    /// The engine frame being heard at monotonic time `ns` (interpolated from the last write's clock
    /// sample: frames rendered minus frames still queued in the device, plus the time since; never more
    /// than was written). nil before the first write.
    public func heardFrame(at ns: UInt64) -> Double? {
        shared.withLock { s -> Double? in
            guard let p = s.player else { return nil }
            var c = cdsp_player_clock()
            guard cdsp_player_clock_get(p, &c) != 0 else { return nil }
            let dt = (Double(ns) - Double(c.ns)) / 1e9
            // Never beyond what was written: when the whole VM (or the sound server) stalls, a stale sample
            // extrapolated with wall time would run ahead of the device.
            return min(Double(c.frame), Double(c.frame) - Double(c.delay) + dt * Double(s.info.sampleRate))
        }
    }

    /// Fault injection (tests, `djd latency --stall-ms`): the audio thread sleeps `milliseconds` before its
    /// next render, missing its deadline on purpose.
    public func injectStall(milliseconds: Int) {
        shared.withLock { s in
            if let p = s.player { cdsp_player_inject_stall(p, UInt32(clamping: milliseconds)) }
        }
    }

    // MARK: - private

    private func startPlayer(on output: AudioOutput) throws -> OpaquePointer {
        var pc = cdsp_player_config_default()
        pc.rt_priority = Int32(configuration.realtimePriority)
        pc.lock_memory = configuration.lockMemory ? 1 : 0
        pc.timeout_ms = UInt32((configuration.deviceTimeout ?? 0) * 1000)
        if let hook {
            pc.hook = hook.function
            pc.hook_user = hook.context
        }
        var status = CDSP_OK
        guard let handle = output.handle else {
            throw DJCoreError.audioDevice(device: configuration.outputName, reason: .failed, detail: "the sound device was closed")
        }
        guard let p = cdsp_player_start(engine.handle, handle, &pc, &status) else {
            throw DJCoreError.audioDevice(device: configuration.outputName, reason: .failed,
                                          detail: "cannot start the audio thread: \(status.message)")
        }
        return p
    }

    /// Stops the audio thread (joins it), keeps its counters in the totals and frees it.
    private func tearDownPlayer(_ s: inout Shared) {
        guard let p = s.player else { return }
        cdsp_player_stop(p)
        s.finished.add(p)
        cdsp_player_destroy(p)
        s.player = nil
    }

    /// Reads a player's stats and notes what the owner must hear about (each thing once).
    @discardableResult
    private func observe(_ p: OpaquePointer, _ s: inout Shared, _ events: inout [AudioSchedulerEvent]) -> cdsp_player_stats {
        var st = cdsp_player_stats()
        cdsp_player_stats_get(p, &st)
        if st.rt_errno >= 0 {
            s.realtime = st.rt_requested > 0 && st.rt_errno == 0
            if st.rt_requested > 0 && st.rt_errno != 0 && !s.reportedRealtime {
                s.reportedRealtime = true
                events.append(.realtimeRefused(
                    "real-time scheduling refused (SCHED_FIFO priority \(st.rt_requested): \(String(cString: strerror(st.rt_errno)))): the audio thread runs at normal priority and may underrun under load. Run as root, or allow it with `setcap cap_sys_nice,cap_ipc_lock+ep <path to djd>` or an rtprio limit in /etc/security/limits.d"))
            }
        }
        s.memoryLocked = st.mlock_requested != 0 && st.mlock_errno == 0
        if st.mlock_requested != 0 && st.mlock_errno != 0 && !s.reportedMemoryLock {
            s.reportedMemoryLock = true
            events.append(.memoryLockRefused(
                "memory locking refused (mlockall: \(String(cString: strerror(st.mlock_errno)))): a page fault can delay the audio thread"))
        }
        let xruns = s.finished.xruns + st.xruns
        if xruns > s.reportedXruns {
            s.reportedXruns = xruns
            events.append(.underruns(total: xruns))
        }
        return st
    }

    private func failureMessage(_ st: cdsp_player_stats) -> String {
        let device = configuration.outputName
        if st.error == CDSP_ERR_DEVICE_TIMEOUT {
            return "sound device '\(device)' stopped taking audio (nothing for \(configuration.deviceTimeout.map { "\($0) s" } ?? "0.5 s or 8 buffers"))"
        }
        return "sound device '\(device)' failed: \(String(cString: cdsp_pcm_error_string(st.alsa_error))) (ALSA error \(st.alsa_error))"
    }

    private func supervise() {
        var backoff = configuration.reopenBackoff.lowerBound
        var nextAttempt = Date.distantPast
        while true {
            var events: [AudioSchedulerEvent] = []
            let stop = shared.withLock { s -> Bool in
                if s.stopRequested { return true }
                if let p = s.player {
                    let st = observe(p, &s, &events)
                    if st.state == Int32(CDSP_PLAYER_FAILED.rawValue) {
                        events.append(.deviceFailed(failureMessage(st)))
                        tearDownPlayer(&s)
                        s.output?.close()
                        s.output = nil
                        s.failures += 1
                        s.state = .reopening
                        backoff = configuration.reopenBackoff.lowerBound
                        nextAttempt = Date().addingTimeInterval(backoff)
                    }
                } else if s.state == .reopening && Date() >= nextAttempt {
                    s.attempts += 1
                    do {
                        let out = try AudioOutput(configuration, sampleRate: engine.sampleRate, exactRate: true)
                        guard out.info.periodFrames <= engine.configuration.maxPeriodFrames else {
                            throw DJCoreError.invalidArgument("the device came back with a period of \(out.info.periodFrames) frames, more than the engine's \(engine.configuration.maxPeriodFrames)")
                        }
                        s.player = try startPlayer(on: out)
                        s.output = out
                        s.info = out.info
                        s.state = .running
                        events.append(.reopened(out.info))
                    } catch {
                        backoff = min(backoff * 2, configuration.reopenBackoff.upperBound)
                        nextAttempt = Date().addingTimeInterval(backoff)
                        events.append(.reopenFailed(attempt: s.attempts, error: "\(error)", retryIn: backoff))
                    }
                }
                return false
            }
            for e in events { onEvent?(e) }
            if let onEngineEvents {
                let ev = engine.pollEvents()
                if !ev.isEmpty { onEngineEvents(ev) }
            }
            if stop { break }
            usleep(5000)
        }
        shared.withLock { $0.supervisorRunning = false }
        supervisorDone.signal()
    }
}
