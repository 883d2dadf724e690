import Synchronization

/// A record of what was sent to an engine and the frame each command took effect at — enough to replay a
/// live session offline, sample for sample (`OfflineRenderer.render(frames:timeline:)` with `timeline`).
///
/// Needs an engine built with `EngineConfiguration.reportsAppliedCommands`. Send through the log
/// (`send(_:to:at:)`) and hand it the engine's events (`absorb`), e.g. from `AudioScheduler`'s
/// `onEngineEvents`. Thread-safe.
public final class CommandLog: Sendable {
    private struct State {
        var waiting: [UInt32: EngineCommand] = [:]
        var applied: [TimedCommand] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Sends `command` to `engine` (at `frame`, or as soon as possible) and remembers it.
    @discardableResult
    public func send(_ command: EngineCommand, to engine: Engine, at frame: UInt64? = nil) throws -> UInt32 {
        precondition(engine.configuration.reportsAppliedCommands,
                     "CommandLog needs an engine built with reportsAppliedCommands")
        // The lock is held across the send, so an `applied` event can never be absorbed before its command
        // is known.
        return try state.withLock { s in
            let id = try engine.send(command, at: frame)
            s.waiting[id] = command
            return id
        }
    }

    /// Takes the `applied` events out of `events` (others are ignored).
    public func absorb(_ events: [EngineEvent]) {
        state.withLock { s in
            for case let .applied(id, frame) in events {
                if let c = s.waiting.removeValue(forKey: id) {
                    s.applied.append(TimedCommand(frame: frame, command: c))
                }
            }
        }
    }

    /// The commands that took effect, each at its engine frame, in the order they took effect.
    public var timeline: [TimedCommand] { state.withLock { $0.applied } }
    /// Commands sent whose effect has not been reported yet.
    public var pending: Int { state.withLock { $0.waiting.count } }
}
