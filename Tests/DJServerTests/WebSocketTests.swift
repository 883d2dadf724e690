import DJCore
import DJServer
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import Synchronization
import Testing

@Suite("Daemon WebSocket", .serialized)
struct WebSocketTests {
    @Test func streams_deck_state_and_task_events_and_takes_commands() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        let file = try fx.wav("ws.wav", seconds: 8)
        let admin = fx.admin
        try await fx.app().test(.live) { client in
            let port = try #require(client.port)
            let seen = Mutex<[JSONValue]>([])
            let logger = Logger(label: "ws-test")
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/ws?token=\(admin)", logger: logger) { inbound, outbound, _ in
                var it = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
                func next() async throws -> JSONValue? {
                    guard case let .text(t)? = try await it.next() else { return nil }
                    let v = try JSONDecoder().decode(JSONValue.self, from: Data(t.utf8))
                    seen.withLock { $0.append(v) }
                    return v
                }
                let hello = try await next()
                #expect(hello?["type"]?.string == "hello")
                #expect(hello?["role"]?.string == "admin")
                // commands, the same as HTTP
                try await outbound.write(.text(#"{"id": 1, "method": "POST", "path": "/api/dj/decks/3/load", "body": {"path": "\#(file)", "play": true}}"#))
                try await outbound.write(.text(#"{"id": 2, "method": "POST", "path": "/api/dj/decks/3/rate", "body": {"rate": 9}}"#))
                try await outbound.write(.text(#"{"id": 3, "method": "POST", "path": "/api/team/tasks", "body": {"kind": "analyse", "payload": {"path": "\#(file)"}}}"#))
                try await outbound.write(.text(#"not json"#))
                var responses: [Int: JSONValue] = [:]
                var badResponse: JSONValue?
                var states: [JSONValue] = []
                var taskEvents: [String] = []
                let deadline = Date().addingTimeInterval(20)
                while Date() < deadline {
                    guard let m = try await next() else { break }
                    switch m["type"]?.string {
                    case "response":
                        if let id = m["id"]?.number { responses[Int(id)] = m } else { badResponse = m }
                    case "state": states.append(m)
                    case "task": if let t = m["event"]?.string { taskEvents.append(t) }
                    default: break
                    }
                    if responses.count == 3 && badResponse != nil && states.count >= 12
                        && seen.withLock({ $0.contains { $0["type"]?.string == "task" && $0.description.contains("succeeded") } }) { break }
                }
                #expect(responses[1]?["status"]?.number == 200, "\(responses[1].map { "\($0)" } ?? "no answer")")
                #expect(responses[2]?["status"]?.number == 400)
                #expect(responses[2]?["error"]?["message"]?.string?.contains("'rate' 9") == true)
                #expect(responses[3]?["status"]?.number == 201)
                #expect(badResponse?["status"]?.number == 400 && badResponse?["error"]?["code"]?.string == "malformed_json")
                #expect(states.count >= 12, "state streams at a steady rate: \(states.count) messages")
                let positions = states.compactMap { $0["decks"]?[2]?["position"]?.number }
                #expect((positions.last ?? 0) > (positions.first ?? 0), "deck 3's position advances: \(positions.prefix(3)) ... \(positions.suffix(3))")
                let taskMessages = seen.withLock { $0.filter { $0["type"]?.string == "task" } }
                #expect(!taskMessages.isEmpty, "task events arrive as they happen")
                #expect(taskMessages.contains { "\($0)".contains("succeeded") }, "\(taskMessages.map { "\($0)" }.prefix(5))")
                #expect(taskEvents.contains("submitted") && taskEvents.contains("started"), "task events by kind: \(taskEvents)")
            }
            // without a token, reads stream (loopback) but a command that changes something is refused
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/ws", logger: logger) { inbound, outbound, _ in
                var it = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
                try await outbound.write(.text(#"{"id": 9, "method": "POST", "path": "/api/dj/decks/1/pause"}"#))
                let deadline = Date().addingTimeInterval(5)
                while Date() < deadline, case let .text(t)? = try await it.next() {
                    let v = try JSONDecoder().decode(JSONValue.self, from: Data(t.utf8))
                    if v["type"]?.string == "response" {
                        #expect(v["status"]?.number == 401, "\(v)")
                        break
                    }
                }
            }
        }
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String {
        (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "?"
    }
}
