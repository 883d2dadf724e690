import CDSP
import Synchronization

/// The control-side façade of the engine and the only producer of its command ring.
///
/// Commands go to the audio side through a lock-free ring, each with the engine frame at which it
/// must take effect (`at:`) or "as soon as possible". The audio side (`render`) is called by exactly one
/// thread: the real-time scheduler when playing live, or `OfflineRenderer` with a virtual clock. It never
/// allocates, locks or waits. Tracks handed to decks stay alive until the audio side hands them back.
///
/// Thread-safety: `send`, `state`, `pollEvents` may be called from any thread (they serialise on a
/// control-side lock the audio thread never touches). `render` belongs to the one audio thread.
public final class Engine: @unchecked Sendable {
    public let configuration: EngineConfiguration
    nonisolated(unsafe) let handle: OpaquePointer

    private struct ControlState {
        /// Tracks the audio side may be reading: pointer -> (track, how many decks were given it).
        var retained: [UnsafeRawPointer: (track: Track, count: Int)] = [:]
        var events: [EngineEvent] = []
        var eventBuffer = [cdsp_event](repeating: cdsp_event(), count: 256)
        var nextID: UInt32 = 1
    }
    private let control = Mutex(ControlState())

    public init(configuration: EngineConfiguration = EngineConfiguration()) throws {
        try configuration.validate()
        self.configuration = configuration
        var cfg = configuration.cConfig
        var status = CDSP_OK
        guard let h = cdsp_engine_create(&cfg, &status) else {
            throw DJCoreError.engineCreate(status.message)
        }
        handle = h
    }

    deinit {
        cdsp_engine_destroy(handle)
    }

    public var sampleRate: Int { configuration.sampleRate }
    /// Frames rendered so far: the engine's clock.
    public var frame: UInt64 { cdsp_engine_frame(handle) }
    /// Frames from a command's time stamp to its effect at the master output (limiter look-ahead).
    public var latencyFrames: Int { Int(cdsp_engine_latency(handle)) }
    /// Commands sent but not yet taken by the audio side.
    public var queueDepth: Int { cdsp_engine_queue_depth(handle) }

    /// Sends a command to take effect at engine frame `at` (nil: at the start of the next period).
    /// Returns the command's number (echoed by `EngineEvent.applied` when that is reported).
    /// - Throws: `invalidArgument` naming the bad value, or `commandQueueFull`.
    @discardableResult
    public func send(_ command: EngineCommand, at frame: UInt64? = nil) throws -> UInt32 {
        var c = try command.encode(frame: frame ?? 0, config: configuration)
        return try control.withLock { state in
            c.id = state.nextID
            let status = cdsp_engine_send(handle, &c)
            guard status == CDSP_OK else {
                if status == CDSP_ERR_FULL { throw DJCoreError.commandQueueFull }
                throw DJCoreError.invalidArgument("the engine refused the command: \(status.message)")
            }
            if case let .load(_, track, _) = command {
                let key = UnsafeRawPointer(track.cTrack)
                state.retained[key, default: (track, 0)].count += 1
            }
            state.nextID &+= 1
            return c.id
        }
    }

    /// Sends several commands in order, all stamped with the same frame. Stops at the first refused
    /// command and throws; the ones before it were sent.
    public func send(_ commands: [EngineCommand], at frame: UInt64? = nil) throws {
        for c in commands { try send(c, at: frame) }
    }

    /// The newest state the audio side published.
    public func state() -> EngineState {
        var s = cdsp_engine_state()
        control.withLock { _ in cdsp_engine_snapshot(handle, &s) }
        return EngineState(s)
    }

    /// Collects events from the audio side and lets go of tracks it handed back.
    /// Call it regularly (the scheduler and the offline renderer do).
    @discardableResult
    public func pollEvents() -> [EngineEvent] {
        control.withLock { state in
            var out: [EngineEvent] = []
            while true {
                let n = state.eventBuffer.withUnsafeMutableBufferPointer {
                    cdsp_engine_poll_events(handle, $0.baseAddress, $0.count)
                }
                if n == 0 { break }
                for i in 0..<n {
                    let e = state.eventBuffer[i]
                    switch e.type {
                    case CDSP_EVENT_RETIRED.rawValue:
                        if let p = e.ptr, var entry = state.retained[p] {
                            entry.count -= 1
                            state.retained[p] = entry.count > 0 ? entry : nil
                        }
                    case CDSP_EVENT_TRACK_END.rawValue:
                        out.append(.trackEnded(deck: Int(e.target) + 1, frame: e.frame))
                    case CDSP_EVENT_QUEUE_FULL.rawValue:
                        out.append(.queueFull(periods: Int(e.a)))
                    case CDSP_EVENT_APPLIED.rawValue:
                        out.append(.applied(id: UInt32(truncatingIfNeeded: e.a), frame: e.frame))
                    default:
                        out.append(.invalidCommand(type: UInt32(truncatingIfNeeded: e.a)))
                    }
                }
            }
            return out
        }
    }

    /// Tracks the engine is holding for the audio side (on decks, or retired but not yet collected).
    public var retainedTrackCount: Int { control.withLock { $0.retained.count } }

    /// Renders one period into `master` (and `cue`), stereo interleaved, `frames` frames each.
    /// Audio thread only; real-time safe: no allocation, lock or wait.
    @inline(__always)
    public func render(master: UnsafeMutablePointer<Float>, cue: UnsafeMutablePointer<Float>?, frames: Int) {
        cdsp_engine_render(handle, master, cue, UInt32(truncatingIfNeeded: frames))
    }
}
