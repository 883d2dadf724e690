import DJCore
import DJServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A daemon on the clock-paced null output, with its state in a temporary directory, and test audio.
final class DaemonFixture: @unchecked Sendable {
    let dir: URL
    let daemon: Daemon
    var admin: String { daemon.tokens.admin }
    var readOnly: String { daemon.tokens.readOnly }

    init(workers: Int = 2, openReads: Bool = true, host: String = "127.0.0.1", start: Bool = true,
         output: AudioOutputConfiguration? = nil, stateDirectory: URL? = nil) throws {
        dir = try stateDirectory ?? Self.tempDir()
        var out = output ?? AudioOutputConfiguration(virtual: .null)
        out.realtimePriority = 0
        out.lockMemory = false
        var cfg = DaemonConfiguration(stateDirectory: dir.appendingPathComponent("state").path, output: out)
        cfg.host = host
        cfg.port = 0
        cfg.workers = workers
        cfg.retryBaseSeconds = 0.05
        cfg.crossfadeSeconds = 1
        cfg.openReads = openReads
        var logger = Logger(label: "djd-test")
        logger.logLevel = .error
        daemon = try Daemon(configuration: cfg, logger: logger)
        if start { try daemon.start() }
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("djserver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func close() {
        daemon.shutdown(taskGrace: 2)
        try? FileManager.default.removeItem(at: dir)
    }

    /// A stereo float WAV: a tone with a click every beat at `bpm` (so it analyses with a tempo).
    @discardableResult
    func wav(_ name: String, seconds: Double = 4, hz: Double = 440, bpm: Double = 120, rate: Int = 48000) throws -> String {
        let path = dir.appendingPathComponent(name).path
        let n = Int(seconds * Double(rate))
        let beat = Int(60 / bpm * Double(rate))
        var s = [Float](repeating: 0, count: n * 2)
        for i in 0..<n {
            var v = 0.2 * sin(2 * Double.pi * hz * Double(i) / Double(rate))
            let k = i % beat
            if k < 2400 { v += 0.6 * exp(-Double(k) / 300) * sin(2 * Double.pi * 60 * Double(k) / Double(rate)) }
            s[2 * i] = Float(v)
            s[2 * i + 1] = Float(v)
        }
        let w = try AudioFileWriter(path: path, sampleRate: rate, channels: 2, format: .wavFloat)
        try w.write(s)
        try w.close()
        return path
    }

    func app() -> some ApplicationProtocol {
        DJServerApp.buildApplication(daemon: daemon)
    }
}

/// One API call through a test client: status and the parsed JSON answer.
struct Reply {
    var status: Int
    var json: JSONValue
    var text: String
    var headers: HTTPFields

    subscript(_ key: String) -> JSONValue? {
        if case let .object(o) = json { return o[key] }
        return nil
    }

    var errorCode: String? {
        if case let .object(e)? = self["error"], case let .string(c)? = e["code"] { return c }
        return nil
    }
    var errorMessage: String {
        if case let .object(e)? = self["error"], case let .string(m)? = e["message"] { return m }
        return ""
    }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        let r = try await execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: r.body)
        let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
        return Reply(status: Int(r.status.code), json: json, text: text, headers: r.headers)
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }
    subscript(_ i: Int) -> JSONValue? {
        if case let .array(a) = self, i < a.count { return a[i] }
        return nil
    }
    var number: Double? { if case let .number(n) = self { return n }; return nil }
    var string: String? { if case let .string(s) = self { return s }; return nil }
    var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    var array: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
func eventually(timeout: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return try await condition()
}
