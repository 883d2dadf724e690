import DJCore
import Foundation
import HummingbirdWebSocket
import NIOCore

/// One WebSocket connection to `/api/ws`.
///
/// Server -> client (text frames, JSON, each with a "type"):
///   - `hello` once: the role, the stream rate, the number of decks;
///   - `state` at a steady rate (`statusRate`, 10 per second by default): engine clock, and per deck the
///     position, playing, rate, tempo, beat and beat phase (when the track has a grid) and level;
///   - `task` as task events happen (submitted, started, failed, retry scheduled, succeeded, ...);
///   - `queue` (playlist queue: track started, skipped, finished) and `notice` (sound device trouble);
///   - `response` to each command: `{"type": "response", "id": <the command's id>, "status": 200, "body": ...}`
///     or, for an error, `"error": {status, code, message}` in place of "body".
/// Client -> server: commands, the same as the HTTP API: `{"id": 1, "method": "POST",
/// "path": "/api/dj/decks/1/play", "body": {...}}`; "token" in a command authorizes it when the
/// connection was opened without one.
struct LiveSession {
    let daemon: Daemon
    let table: APIRouteTable
    let role: APIRole

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (out, sink) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let hello: JSONValue = .object([
            "type": .string("hello"), "role": .string(role.rawValue),
            "statusRate": .number(daemon.configuration.statusRate), "decks": .number(Double(daemon.engine.configuration.decks)),
        ])
        if let d = try? APIJSON.encoder.encode(hello) { sink.yield(d) }
        let subscription = daemon.hub.subscribe()
        defer { daemon.hub.unsubscribe(subscription.id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // the only writer of the socket
            group.addTask {
                for await data in out {
                    try await outbound.write(.text(String(decoding: data, as: UTF8.self)))
                }
            }
            // events from the hub
            group.addTask {
                for await data in subscription.stream { sink.yield(data) }
            }
            // deck state at a steady rate
            group.addTask { [daemon] in
                let interval = UInt64(1e9 / daemon.configuration.statusRate)
                var next = DispatchTime.now().uptimeNanoseconds
                while !Task.isCancelled {
                    var value = (try? APIJSON.value(daemon.liveState())) ?? .null
                    if case var .object(o) = value {
                        o["type"] = .string("state")
                        value = .object(o)
                    }
                    if let d = try? APIJSON.encoder.encode(value) { sink.yield(d) }
                    next += interval
                    let now = DispatchTime.now().uptimeNanoseconds
                    if next > now { try await Task.sleep(nanoseconds: next - now) } else { next = now }
                }
            }
            // commands; when the client goes away, everything stops
            for try await message in inbound.messages(maxSize: daemon.configuration.maxBodyBytes) {
                let text: String
                switch message {
                case let .text(t): text = t
                case let .binary(b): text = String(buffer: b)
                }
                sink.yield(await handle(text))
            }
            sink.finish()
            group.cancelAll()
        }
    }

    /// Runs one command and returns its `response` message.
    func handle(_ text: String) async -> Data {
        var id: JSONValue = .null
        do {
            let value = try DJServerApp.parseJSON(Data(text.utf8))
            guard case let .object(o) = value else {
                throw APIError.badRequest("a command must be a JSON object {\"id\", \"method\", \"path\", \"body\"}")
            }
            id = o["id"] ?? .null
            let f = Fields(o, where: "the command")
            try f.only(["id", "method", "path", "body", "token"])
            let methodName = try f.optionalString("method") ?? "GET"
            guard let method = HTTPMethodName(rawValue: methodName.uppercased()) else {
                throw APIError.badRequest("'method' must be one of GET, POST, PUT, PATCH, DELETE, got '\(methodName)'")
            }
            let full = try f.string("path", maxLength: 2048)
            let parts = full.split(separator: "?", maxSplits: 1)
            let path = String(parts[0])
            var query: [String: String] = [:]
            if parts.count == 2 {
                for pair in parts[1].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                    query[k] = kv.count == 2 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                }
            }
            var callerRole = role
            if let t = try f.optionalString("token") {
                callerRole = try DJServerApp.authorize(token: t, access: .read, daemon: daemon)
            }
            let (route, params) = try table.resolve(method, path)
            if callerRole != .admin {
                _ = try DJServerApp.authorize(token: callerRole == .readOnly ? daemon.tokens.readOnly : nil,
                                              access: route.access, daemon: daemon)
            }
            let reply = try await route.handler(APIRequest(method: method, path: path, parameters: params, query: query,
                                                           body: o["body"], role: callerRole))
            daemon.metrics.countRequest(route: route.pattern, method: method.rawValue, status: reply.status)
            var body: JSONValue = .null
            if let j = reply.json { body = (try? APIJSON.decoder.decode(JSONValue.self, from: j)) ?? .null }
            else if let t = reply.text { body = .string(t) }
            return encode(["type": .string("response"), "id": id, "status": .number(Double(reply.status)), "body": body])
        } catch {
            let e = APIError(error)
            return encode(["type": .string("response"), "id": id, "status": .number(Double(e.status)),
                           "error": .object(["status": .number(Double(e.status)), "code": .string(e.code), "message": .string(e.message)])])
        }
    }

    func encode(_ o: [String: JSONValue]) -> Data {
        (try? APIJSON.encoder.encode(JSONValue.object(o))) ?? Data("{}".utf8)
    }
}
