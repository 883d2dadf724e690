import DJCore
import DJServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The Team Service and Manager through the daemon's API, with the real task handlers.
@Suite("Task API", .serialized)
struct TaskAPITests {
    func task(_ client: some TestClientProtocol, _ id: Int) async throws -> Reply {
        try await client.call(.get, "/api/team/tasks/\(id)")
    }

    func waitFor(_ client: some TestClientProtocol, _ id: Int, states: [String], timeout: Double = 30) async -> Reply? {
        var last: Reply?
        _ = await eventually(timeout: timeout) {
            last = try? await task(client, id)
            return states.contains(last?["state"]?.string ?? "")
        }
        return last
    }

    func events(_ r: Reply?) -> [JSONValue] { r?["history"]?.array ?? [] }

    @Test func a_task_that_fails_twice_then_succeeds_shows_its_back_off() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        // the file is not there yet (still being copied, say): two attempts fail, then it arrives
        let path = fx.dir.appendingPathComponent("late.wav").path
        try await fx.app().test(.router) { client in
            let sub = try await client.call(.post, "/api/team/tasks",
                                            #"{"kind": "analyse", "payload": {"path": "\#(path)"}, "maxAttempts": 3, "backoffBase": 1, "jitter": 0}"#,
                                            token: fx.admin)
            #expect(sub.status == 201, "\(sub.text)")
            let id = Int(sub["id"]?.number ?? 0)
            let twice = await eventually(timeout: 60) {
                let t = try? await task(client, id)
                return (t?["attempts"]?.number ?? 0) >= 2 && t?["state"]?.string == "retryWait"
            }
            #expect(twice, "two failed attempts")
            try fx.wav("late.wav", seconds: 10)
            let done = await waitFor(client, id, states: ["succeeded", "deadLettered", "failed"])
            #expect(done?["state"]?.string == "succeeded", "\(done?.text ?? "")")
            #expect(done?["attempts"]?.number == 3)
            #expect(done?["result"]?["bpm"]?.number.map { abs($0 - 120) < 1 } == true, "\(done?.text ?? "")")
            // the back-off is visible in the history and grows: 1 s, then 2 s
            let delays = events(done).compactMap { $0["delaySeconds"]?.number }
            #expect(delays.count == 2, "\(events(done))")
            if delays.count == 2 {
                #expect(abs(delays[0] - 1) < 0.01 && abs(delays[1] - 2) < 0.01, "\(delays)")
            }
            // and the analysis reached the library
            let lib = try await client.call(.get, "/api/dj/library")
            #expect(lib.json.array?.first?["analysis"]?["bpm"]?.number != nil, "\(lib.text.prefix(300))")
        }
    }

    @Test func a_task_that_keeps_failing_is_dead_lettered() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        try await fx.app().test(.router) { client in
            let sub = try await client.call(.post, "/api/team/tasks",
                                            #"{"kind": "analyse", "payload": {"path": "/no/such.wav"}, "maxAttempts": 2, "backoffBase": 0.05}"#,
                                            token: fx.admin)
            let id = Int(sub["id"]?.number ?? 0)
            let dead = await waitFor(client, id, states: ["deadLettered"])
            #expect(dead?["state"]?.string == "deadLettered", "\(dead?.text ?? "")")
            #expect(dead?["error"]?.string?.contains("/no/such.wav") == true)
            let list = try await client.call(.get, "/api/team/deadletters")
            #expect(list.json.array?.contains { Int($0["id"]?.number ?? 0) == id } == true, "\(list.text)")
            // a retry by hand puts it back in the queue
            let retry = try await client.call(.post, "/api/team/tasks/\(id)/retry", nil, token: fx.admin)
            #expect(retry.status == 200, "\(retry.text)")
            #expect(["queued", "running", "retryWait"].contains(retry["state"]?.string ?? ""), "\(retry.text)")
        }
    }

    @Test func a_dependency_chain_runs_in_order_and_a_cycle_is_refused() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        let file = try fx.wav("song.wav", seconds: 4)
        try await fx.app().test(.router) { client in
            let list = try await client.call(.post, "/api/dj/playlist", #"{"name": "prepared"}"#, token: fx.admin)
            let pid = Int(list["id"]?.number ?? 0)
            let wf = try await client.call(.post, "/api/manager/coordinate",
                                           #"{"template": "prepare-track", "path": "\#(file)", "playlist": \#(pid)}"#, token: fx.admin)
            #expect(wf.status == 201, "\(wf.text)")
            let wid = Int(wf["id"]?.number ?? 0)
            let finished = await eventually(timeout: 60) {
                let w = try? await client.call(.get, "/api/manager/coordinate/\(wid)")
                return ["succeeded", "failed"].contains(w?["state"]?.string ?? "")
            }
            #expect(finished)
            let w = try await client.call(.get, "/api/manager/coordinate/\(wid)")
            #expect(w["state"]?.string == "succeeded", "\(w.text)")
            // ran in order: each step started after the one it depends on had succeeded
            var finishedAt: [String: Double] = [:]
            var startedAt: [String: Double] = [:]
            for step in ["analyse", "separate", "playlist"] {
                let id = Int(w["steps"]?[step]?.number ?? 0)
                let t = try await task(client, id)
                #expect(t["state"]?.string == "succeeded", "\(step): \(t.text)")
                let hist = events(t)
                func time(_ type: String) -> Double? {
                    hist.first { $0["type"]?.string == type }?["at"]?.string.flatMap { ISO8601DateFormatter.fractional.date(from: $0)?.timeIntervalSince1970 }
                }
                startedAt[step] = time("started")
                finishedAt[step] = time("succeeded")
            }
            if let s = startedAt["separate"], let f = finishedAt["analyse"] { #expect(s >= f) }
            if let s = startedAt["playlist"], let f = finishedAt["separate"] { #expect(s >= f) }
            let playlist = try await client.call(.get, "/api/dj/playlist/\(pid)")
            #expect(playlist["entries"]?.array?.count == 1, "the track was added: \(playlist.text)")
            let sepID = Int(w["steps"]?["separate"]?.number ?? 0)
            let stems = try await task(client, sepID)["result"]?["stems"]
            for stem in ["drums", "bass", "other"] {
                let p = stems?[stem]?.string ?? ""
                #expect(FileManager.default.fileExists(atPath: p), "stem \(stem) at '\(p)'")
            }

            let before = try await client.call(.get, "/api/team/tasks?limit=1000").json.array?.count ?? -1
            let cycle = try await client.call(.post, "/api/team/tasks", #"""
                {"steps": [{"name": "a", "kind": "analyse", "payload": {"path": "\#(file)"}, "dependsOn": ["b"]},
                           {"name": "b", "kind": "analyse", "payload": {"path": "\#(file)"}, "dependsOn": ["a"]}]}
                """#, token: fx.admin)
            #expect(cycle.status == 400, "\(cycle.text)")
            #expect(cycle.errorMessage.lowercased().contains("cycle"), "\(cycle.text)")
            let unknownDep = try await client.call(.post, "/api/team/tasks", #"{"kind": "analyse", "dependsOn": [99999]}"#, token: fx.admin)
            #expect(unknownDep.status == 400 || unknownDep.status == 404, "\(unknownDep.text)")
            let after = try await client.call(.get, "/api/team/tasks?limit=1000").json.array?.count ?? -2
            #expect(before == after, "nothing was stored for the refused submissions")
        }
    }

    @Test func cancelling_a_waiting_and_a_running_task() async throws {
        let fx = try DaemonFixture(workers: 1)
        defer { fx.close() }
        let long = try fx.wav("long.wav", seconds: 120)
        try await fx.app().test(.router) { client in
            let running = try await client.call(.post, "/api/team/tasks",
                                                #"{"kind": "separate", "payload": {"path": "\#(long)"}}"#, token: fx.admin)
            let rid = Int(running["id"]?.number ?? 0)
            let waiting = try await client.call(.post, "/api/team/tasks",
                                                #"{"kind": "analyse", "payload": {"path": "\#(long)"}, "dependsOn": [\#(rid)]}"#, token: fx.admin)
            let wid = Int(waiting["id"]?.number ?? 0)
            let started = await waitFor(client, rid, states: ["running"])
            #expect(started?["state"]?.string == "running")
            let c1 = try await client.call(.post, "/api/team/tasks/\(wid)/cancel", nil, token: fx.admin)
            #expect(c1["state"]?.string == "cancelled", "\(c1.text)")
            let c2 = try await client.call(.post, "/api/team/tasks/\(rid)/cancel", nil, token: fx.admin)
            #expect(c2.status == 200, "\(c2.text)")
            let ended = await waitFor(client, rid, states: ["cancelled", "succeeded", "failed"], timeout: 30)
            #expect(ended?["state"]?.string == "cancelled", "\(ended?.text ?? "")")
            let again = try await client.call(.post, "/api/team/tasks/\(rid)/cancel", nil, token: fx.admin)
            #expect(again.status == 409, "cancelling a finished task is a conflict: \(again.text)")
        }
    }

    @Test func an_effect_task_reaches_the_engine_through_the_command_path() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        try await fx.app().test(.router) { client in
            let sub = try await client.call(.post, "/api/dj/process", #"{"action": "render"}"#, token: fx.admin)
            #expect(sub.status == 400, "render needs mix and output: \(sub.text)")
            let t = try await client.call(.post, "/api/team/tasks",
                                          #"{"kind": "effect", "payload": {"decks": [{"deck": 1, "filter": -0.5}], "rampSeconds": 0}}"#,
                                          token: fx.admin)
            let id = Int(t["id"]?.number ?? 0)
            let done = await waitFor(client, id, states: ["succeeded", "failed", "deadLettered"])
            #expect(done?["state"]?.string == "succeeded", "\(done?.text ?? "")")
            let applied = await eventually(timeout: 10) {
                abs(((try? await client.call(.get, "/api/dj/effects"))?["decks"]?[0]?["filter"]?.number ?? 0) + 0.5) < 1e-6
            }
            #expect(applied)
            let bad = try await client.call(.post, "/api/team/tasks",
                                            #"{"kind": "effect", "payload": {"decks": [{"deck": 1, "filter": 7}]}}"#, token: fx.admin)
            let failed = await waitFor(client, Int(bad["id"]?.number ?? 0), states: ["failed", "deadLettered"])
            #expect(failed?["attempts"]?.number == 1, "a bad payload is not retried: \(failed?.text ?? "")")
            #expect(failed?["error"]?.string?.contains("'filter' 7") == true)

            for path in ["/api/team/resources", "/api/team/state", "/api/team/health", "/api/manager/monitor",
                         "/api/manager/balance", "/api/manager/health"] {
                let r = try await client.call(.get, path)
                #expect(r.status == 200, "\(path): \(r.text)")
                #expect(r.json != .null)
            }
            let monitor = try await client.call(.get, "/api/manager/monitor")
            #expect(monitor.text.contains("periodRenderMsMax"), "engine metrics in the monitor: \(monitor.text.prefix(400))")
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let fractional: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
