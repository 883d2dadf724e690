import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A real HTTP call to a running daemon (the CLI tests use no DJCore code).
func http(_ method: String, _ url: String, _ body: String? = nil, token: String? = nil) throws -> (status: Int, json: Any?, text: String) {
    var req = URLRequest(url: URL(string: url)!)
    req.httpMethod = method
    req.timeoutInterval = 30
    if let token { req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let body {
        req.httpBody = Data(body.utf8)
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    final class Box: @unchecked Sendable { var status = 0; var data = Data(); var error: Error? }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: req) { data, response, error in
        box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
        box.data = data ?? Data()
        box.error = error
        done.signal()
    }.resume()
    done.wait()
    if let e = box.error { throw e }
    let text = String(decoding: box.data, as: UTF8.self)
    return (box.status, try? JSONSerialization.jsonObject(with: box.data), text)
}

/// `djd serve` as a separate process: the kill -9 restart and the graceful stop.
@Suite("djd serve", .serialized)
struct ServeCLITests {
    /// Starts `djd serve` on the null output and waits for it to say where it listens.
    func start(_ state: String, extra: [String] = []) throws -> (DJDProcess, String) {
        let info = (state as NSString).appendingPathComponent("daemon.json")
        try? FileManager.default.removeItem(atPath: info)
        let p = try DJDProcess(["serve", "--output", "null", "--state", state, "--port", "0", "--workers", "1",
                                "--realtime-priority", "0", "--crossfade", "1"] + extra)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && p.process.isRunning {
            if let d = FileManager.default.contents(atPath: info),
               let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any], let url = o["url"] as? String {
                return (p, url)
            }
            usleep(50_000)
        }
        let r = p.finish(timeout: 5)
        throw CLIError("djd serve did not start: \(r.stderr)")
    }

    struct CLIError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func adminToken(_ state: String) throws -> String {
        let d = try Data(contentsOf: URL(fileURLWithPath: (state as NSString).appendingPathComponent("tokens.json")))
        return (try JSONSerialization.jsonObject(with: d) as? [String: Any])?["admin"] as? String ?? ""
    }

    func tasks(_ url: String) throws -> [[String: Any]] {
        (try http("GET", "\(url)/api/team/tasks?limit=1000").json as? [[String: Any]]) ?? []
    }

    @Test func restart_after_kill_9_loses_and_duplicates_nothing() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state").path
        var files: [String] = []
        for (i, hz) in [330.0, 440, 550].enumerated() {
            let f = dir.appendingPathComponent("t\(i).wav").path
            try CLIAudio.tone(f, hz: hz, seconds: 20)
            files.append(f)
        }
        let long = dir.appendingPathComponent("long.wav").path
        try CLIAudio.tone(long, hz: 220, seconds: 90)

        var (p, url) = try start(state)
        let token = try adminToken(state)
        let quoted = files.map { "\"\($0)\"" }.joined(separator: ", ")
        let made = try http("POST", "\(url)/api/dj/playlist", #"{"name": "night", "paths": [\#(quoted)]}"#, token: token)
        #expect(made.status == 201, "\(made.text)")
        let pid = (made.json as? [String: Any])?["id"] as? Int ?? 0
        #expect(try http("POST", "\(url)/api/dj/playlist/\(pid)/start", nil, token: token).status == 200)
        // one long task ahead of the others (one worker), so most are unfinished when the process dies
        var submitted: [Int] = []
        let first = try http("POST", "\(url)/api/team/tasks", #"{"kind": "separate", "payload": {"path": "\#(long)"}}"#, token: token)
        submitted.append((first.json as? [String: Any])?["id"] as? Int ?? 0)
        for f in files {
            let r = try http("POST", "\(url)/api/team/tasks", #"{"kind": "analyse", "payload": {"path": "\#(f)"}}"#, token: token)
            #expect(r.status == 201, "\(r.text)")
            submitted.append((r.json as? [String: Any])?["id"] as? Int ?? 0)
        }
        let dep = try http("POST", "\(url)/api/team/tasks",
                           #"{"kind": "playlist", "payload": {"action": "add", "playlist": \#(pid), "path": "\#(files[0])"}, "dependsOn": [\#(submitted[1])]}"#,
                           token: token)
        submitted.append((dep.json as? [String: Any])?["id"] as? Int ?? 0)
        usleep(300_000)  // the long task is running now
        p.signal(SIGKILL)
        _ = p.finish(timeout: 10)

        (p, url) = try start(state)
        defer { p.signal(SIGKILL); _ = p.finish(timeout: 10) }
        // every playlist, and the queue resumed
        let lists = try http("GET", "\(url)/api/dj/playlist").json as? [[String: Any]] ?? []
        #expect(lists.count == 1 && lists.first?["name"] as? String == "night", "\(lists)")
        let queue = try http("GET", "\(url)/api/dj/playlist/queue").json as? [String: Any]
        #expect((queue?["state"] as? String) != "idle", "the queue resumes after the restart: \(queue ?? [:])")
        // every task, once
        let ids = try tasks(url).compactMap { $0["id"] as? Int }.sorted()
        #expect(ids == submitted.sorted(), "tasks after the restart: \(ids), submitted: \(submitted)")
        let allDone = (0..<1200).contains { _ in
            usleep(100_000)
            return (try? tasks(url))?.allSatisfy { ($0["state"] as? String) == "succeeded" } == true
        }
        #expect(allDone, "\((try? tasks(url))?.map { "\($0["id"] ?? 0): \($0["state"] ?? "")" } ?? [])")
        let longHistory = ((try http("GET", "\(url)/api/team/tasks/\(submitted[0])").json as? [String: Any])?["history"] as? [[String: Any]]) ?? []
        #expect(longHistory.contains { ($0["type"] as? String) == "requeued" },
                "the task running at the kill was re-queued: \(longHistory.map { $0["type"] ?? "" })")
        for id in submitted {
            let t = try http("GET", "\(url)/api/team/tasks/\(id)").json as? [String: Any] ?? [:]
            let hist = t["history"] as? [[String: Any]] ?? []
            let succeeded = hist.filter { ($0["type"] as? String) == "succeeded" }.count
            #expect(succeeded == 1, "task \(id) succeeded \(succeeded) times: \(hist.map { $0["type"] ?? "" })")
        }
        let entries = (try http("GET", "\(url)/api/dj/playlist/\(pid)").json as? [String: Any])?["entries"] as? [Any]
        #expect(entries?.count == 4, "the dependent playlist task added its entry exactly once")

        // SIGTERM: a graceful stop with status 0
        p.signal(SIGTERM)
        let r = p.finish(timeout: 30)
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
    }

    @Test func json_logs_are_one_object_per_line() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (p, url) = try start(dir.appendingPathComponent("state").path, extra: ["--log-format", "json"])
        #expect(try http("GET", "\(url)/api/health").status == 200)
        p.signal(SIGTERM)
        let r = p.finish(timeout: 30)
        #expect(r.status == 0, "\(r.stderr.suffix(1000))")
        let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count >= 3, "\(r.stderr)")
        for line in lines {
            let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(o?["level"] != nil && o?["message"] != nil && o?["ts"] != nil, "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains("shutting down") })
    }

    @Test func serve_refuses_a_missing_sound_card_and_lists_devices() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = try DJDProcess(["serve", "--device", "hw:42", "--state", dir.path, "--port", "0"])
        let r = p.finish(timeout: 30)
        #expect(r.status == 3)
        #expect(r.stderr.contains("hw:42"), "\(r.stderr)")
    }
}
