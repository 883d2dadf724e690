import DJCore
import Foundation
import Synchronization

/// Fans events out to the WebSocket connections: task events as they happen, queue and deck events.
/// Each subscriber has a bounded buffer (256 events here, 1024 messages in the connection's writer): a
/// client too slow to keep up loses its oldest events, silently; it never slows the daemon down.
public final class EventHub: Sendable {
    private struct State {
        var next = 0
        var subscribers: [Int: AsyncStream<Data>.Continuation] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// A stream of JSON messages (one WebSocket text frame each) and the id to unsubscribe with.
    public func subscribe(buffer: Int = 256) -> (id: Int, stream: AsyncStream<Data>) {
        let (stream, continuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        let id = state.withLock { s -> Int in
            s.next += 1
            s.subscribers[s.next] = continuation
            return s.next
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    public func unsubscribe(_ id: Int) {
        let c = state.withLock { $0.subscribers.removeValue(forKey: id) }
        c?.finish()
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Sends `{"type": type, ...payload}` to every subscriber (a payload's own "type" becomes "event":
    /// `{"type": "task", "event": "retryScheduled", "taskID": 7, ...}`).
    public func publish(type: String, _ payload: some Encodable) {
        guard subscriberCount > 0 else { return }
        guard var value = try? APIJSON.value(payload) else { return }
        if case var .object(o) = value {
            // the payload's own "type" (a task event's kind, a queue event's) moves to "event"
            if let own = o["type"] { o["event"] = own }
            o["type"] = .string(type)
            value = .object(o)
        } else {
            value = .object(["type": .string(type), "data": value])
        }
        guard let data = try? APIJSON.encoder.encode(value) else { return }
        let subs = state.withLock { Array($0.subscribers.values) }
        for s in subs { s.yield(data) }
    }

    public func finishAll() {
        let subs = state.withLock { s -> [AsyncStream<Data>.Continuation] in
            defer { s.subscribers.removeAll() }
            return Array(s.subscribers.values)
        }
        for s in subs { s.finish() }
    }
}
