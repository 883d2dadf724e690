import DJCore
import DJServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The daemon started in-process, driven through Hummingbird's router (`.router`: no socket) and over a
/// real TCP socket (`.live`). Audio goes to the clock-paced null output: the real audio thread runs.
@Suite("Daemon API", .serialized)
struct DaemonAPITests {
    @Test func status_decks_and_transport_over_a_real_socket() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        let file = try fx.wav("tone.wav", seconds: 6)
        try await fx.app().test(.live) { client in
            let status = try await client.call(.get, "/api/dj/status")
            #expect(status.status == 200)
            #expect(status["decks"]?.array?.count == 4)
            #expect(status["output"]?["device"]?.string == "null")
            #expect(status["output"]?["state"]?.string == "running")

            let load = try await client.call(.post, "/api/dj/decks/3/load", #"{"path": "\#(file)"}"#, token: fx.admin)
            #expect(load.status == 200, "\(load.text)")
            #expect(load["loaded"]?.bool == true)
            #expect(abs((load["duration"]?.number ?? 0) - 6) < 0.01)

            let play = try await client.call(.post, "/api/dj/decks/3/play", nil, token: fx.admin)
            #expect(play.status == 200, "\(play.text)")
            #expect(play["playing"]?.bool == true)
            let moving = await eventually(timeout: 15) {
                ((try? await client.call(.get, "/api/dj/decks/3"))?["position"]?.number ?? 0) > 0.2
            }
            #expect(moving, "the deck's position advances in real time")

            let rate = try await client.call(.post, "/api/dj/decks/3/rate", #"{"rate": 1.05}"#, token: fx.admin)
            #expect(abs((rate["rate"]?.number ?? 0) - 1.05) < 1e-9, "\(rate.text)")
            let seek = try await client.call(.post, "/api/dj/decks/3/seek", #"{"position": 4.5}"#, token: fx.admin)
            #expect(abs((seek["position"]?.number ?? 0) - 4.5) < 0.1, "\(seek.text)")
            let loop = try await client.call(.post, "/api/dj/decks/3/loop", #"{"start": 1, "end": 2}"#, token: fx.admin)
            #expect(loop["loop"]?["active"]?.bool == true, "\(loop.text)")
            #expect(abs((loop["loop"]?["end"]?.number ?? 0) - 2) < 0.001)
            let exit = try await client.call(.post, "/api/dj/decks/3/loop", #"{"action": "exit"}"#, token: fx.admin)
            #expect(exit["loop"]?["active"]?.bool == false, "\(exit.text)")
            let setCue = try await client.call(.post, "/api/dj/decks/3/cue", #"{"set": true, "position": 0.5}"#, token: fx.admin)
            #expect(abs((setCue["cue"]?.number ?? 0) - 0.5) < 0.001, "\(setCue.text)")
            let pause = try await client.call(.post, "/api/dj/decks/3/pause", nil, token: fx.admin)
            #expect(pause["playing"]?.bool == false)
            let jump = try await client.call(.post, "/api/dj/decks/3/cue", nil, token: fx.admin)
            #expect(abs((jump["position"]?.number ?? 0) - 0.5) < 0.01, "\(jump.text)")
        }
    }

    @Test func effects_are_read_and_set_and_validated_whole() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        try await fx.app().test(.router) { client in
            let set = try await client.call(.put, "/api/dj/effects",
                                            #"{"decks": [{"deck": 2, "eq": {"low": -6}, "filter": 0.25, "fader": 0.5}], "master": {"crossfader": 0.3}, "rampSeconds": 0}"#,
                                            token: fx.admin)
            #expect(set.status == 200, "\(set.text)")
            let strip = set["decks"]?[1]
            #expect(abs((strip?["eq"]?["low"]?.number ?? 0) + 6) < 0.01)
            #expect(abs((strip?["filter"]?.number ?? 0) - 0.25) < 1e-6)
            #expect(abs((set["master"]?["crossfader"]?.number ?? 0) - 0.3) < 1e-6)

            // one bad field refuses the whole request: nothing changes
            let bad = try await client.call(.put, "/api/dj/effects",
                                            #"{"decks": [{"deck": 2, "fader": 0.1, "filter": 3}]}"#, token: fx.admin)
            #expect(bad.status == 400)
            #expect(bad.errorMessage.contains("'filter' 3 is outside -1 ... 1"), "\(bad.text)")
            let now = try await client.call(.get, "/api/dj/effects")
            #expect(abs((now["decks"]?[1]?["fader"]?.number ?? 0) - 0.5) < 1e-6, "the fader kept its value")
        }
    }

    @Test func bad_requests_get_4xx_and_the_daemon_keeps_serving() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        try await fx.app().test(.live) { client in
            let malformed = try await client.call(.post, "/api/dj/decks/1/rate", #"{"rate": 1.0"#, token: fx.admin)
            #expect(malformed.status == 400)
            #expect(malformed.errorCode == "malformed_json", "\(malformed.text)")

            let deck = try await client.call(.post, "/api/dj/decks/9/play", nil, token: fx.admin)
            #expect(deck.status == 404)
            #expect(deck.errorMessage.contains("deck 9 does not exist"), "\(deck.text)")

            let range = try await client.call(.post, "/api/dj/decks/1/rate", #"{"rate": 3}"#, token: fx.admin)
            #expect(range.status == 400)
            #expect(range.errorMessage.contains("'rate' 3 is outside 0.5 ... 2"), "\(range.text)")

            let typo = try await client.call(.post, "/api/dj/decks/1/rate", #"{"rat": 1}"#, token: fx.admin)
            #expect(typo.status == 400)
            #expect(typo.errorMessage.contains("unknown field 'rat'"), "\(typo.text)")

            let wrongType = try await client.call(.post, "/api/team/tasks", #"{"kind": "analyse", "priority": "high"}"#, token: fx.admin)
            #expect(wrongType.status == 400)
            #expect(wrongType.errorMessage.contains("'priority' must be a whole number"), "\(wrongType.text)")

            let big = String(repeating: " ", count: 2 << 20) + "{}"
            let oversized = try await client.call(.post, "/api/dj/playlist", big, token: fx.admin)
            #expect(oversized.status == 413)
            #expect(oversized.errorCode == "body_too_large", "\(oversized.text)")

            let wrongMethod = try await client.call(.delete, "/api/dj/status", nil, token: fx.admin)
            #expect(wrongMethod.status == 405, "\(wrongMethod.text)")
            #expect(wrongMethod.headers[.allow] == "GET")

            let unknown = try await client.call(.get, "/api/dj/nothing")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "not_found")

            let missing = try await client.call(.post, "/api/dj/decks/1/load", #"{"path": "/no/such/file.wav"}"#, token: fx.admin)
            #expect(missing.status == 422)
            #expect(missing.errorMessage.contains("/no/such/file.wav"), "\(missing.text)")

            let notPlaying = try await client.call(.post, "/api/dj/decks/4/play", nil, token: fx.admin)
            #expect(notPlaying.status == 409)

            let after = try await client.call(.get, "/api/dj/status")
            #expect(after.status == 200, "still serving after the bad requests")
            #expect(after["output"]?["state"]?.string == "running", "and still playing")
        }
    }

    @Test func token_rules() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        let tokenFile = fx.daemon.tokens.path
        let mode = (try FileManager.default.attributesOfItem(atPath: tokenFile)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600, "token file mode \(String(mode, radix: 8))")
        #expect(fx.admin.count == 64 && fx.admin != fx.readOnly)
        try await fx.app().test(.router) { client in
            let r1 = try await client.call(.get, "/api/dj/status")
            #expect(r1.status == 200, "reads are open on loopback")
            let anon = try await client.call(.post, "/api/dj/playlist", #"{"name": "x"}"#)
            #expect(anon.status == 401)
            #expect(anon.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let ro = try await client.call(.post, "/api/dj/playlist", #"{"name": "x"}"#, token: fx.readOnly)
            #expect(ro.status == 403)
            let r2 = try await client.call(.get, "/api/dj/playlist", token: fx.readOnly)
            #expect(r2.status == 200)
            let bogus = try await client.call(.get, "/api/dj/status", token: String(repeating: "0", count: 64))
            #expect(bogus.status == 401, "a token that is given must be valid")
            let ok = try await client.call(.post, "/api/dj/playlist", #"{"name": "x"}"#, token: fx.admin)
            #expect(ok.status == 201, "\(ok.text)")
        }
        // the same tokens come back on the next start (not re-created, not printed again)
        let again = try TokenStore(directory: fx.daemon.configuration.stateDirectory)
        #expect(!again.created && again.admin == fx.admin)
    }

    @Test func without_open_reads_every_call_needs_a_token() async throws {
        let fx = try DaemonFixture(openReads: false)
        defer { fx.close() }
        try await fx.app().test(.router) { client in
            let r3 = try await client.call(.get, "/api/dj/status")
            #expect(r3.status == 401)
            let r4 = try await client.call(.get, "/metrics")
            #expect(r4.status == 401)
            let r5 = try await client.call(.get, "/api/dj/status", token: fx.readOnly)
            #expect(r5.status == 200)
        }
    }

    @Test func playlists_are_made_edited_and_played_by_the_queue() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        let a = try fx.wav("a.wav", seconds: 3, hz: 330)
        let b = try fx.wav("b.wav", seconds: 3, hz: 440)
        let c = try fx.wav("c.wav", seconds: 3, hz: 550)
        try await fx.app().test(.router) { client in
            let made = try await client.call(.post, "/api/dj/playlist", #"{"name": "Friday", "paths": ["\#(a)", "\#(b)"]}"#, token: fx.admin)
            #expect(made.status == 201, "\(made.text)")
            let id = Int(made["id"]?.number ?? 0)
            let added = try await client.call(.post, "/api/dj/playlist/\(id)/entries", #"{"path": "\#(c)", "position": 0}"#, token: fx.admin)
            #expect(added.status == 201, "\(added.text)")
            let entryC = Int(added["id"]?.number ?? 0)
            let moved = try await client.call(.put, "/api/dj/playlist/\(id)/entries/\(entryC)", #"{"position": 2}"#, token: fx.admin)
            #expect(moved["entries"]?.array?.map { $0["track"]?["path"]?.string ?? "" } == [a, b, c], "\(moved.text)")
            let dup = try await client.call(.post, "/api/dj/playlist", #"{"name": "Friday"}"#, token: fx.admin)
            #expect(dup.status == 409 || dup.status == 400, "\(dup.text)")
            let badFile = try await client.call(.post, "/api/dj/playlist/\(id)/entries", #"{"path": "/nope.wav"}"#, token: fx.admin)
            #expect(badFile.status >= 400 && badFile.status < 500)
            #expect(badFile.text.contains("/nope.wav"))

            let start = try await client.call(.post, "/api/dj/playlist/\(id)/start", nil, token: fx.admin)
            #expect(start.status == 200, "\(start.text)")
            let playing = await eventually(timeout: 15) {
                let s = try? await client.call(.get, "/api/dj/status")
                return s?["nowPlaying"]?["path"]?.string == a
            }
            #expect(playing, "the queue plays the first entry")
            let loadOnQueueDeck = try await client.call(.post, "/api/dj/decks/1/load", #"{"path": "\#(c)"}"#, token: fx.admin)
            #expect(loadOnQueueDeck.status == 409)
            let stop = try await client.call(.post, "/api/dj/playlist/stop", #"{"fadeSeconds": 0.1}"#, token: fx.admin)
            #expect(stop.status == 200, "\(stop.text)")
            let idle = await eventually(timeout: 15) {
                (try? await client.call(.get, "/api/dj/playlist/queue"))?["state"]?.string == "idle"
            }
            #expect(idle)
            let removed = try await client.call(.delete, "/api/dj/playlist/\(id)/entries/\(entryC)", nil, token: fx.admin)
            #expect(removed["entries"]?.array?.count == 2)
        }
    }

    @Test func balance_settings_survive_a_restart() async throws {
        let dir = try DaemonFixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let fx = try DaemonFixture(stateDirectory: dir)
            try await fx.app().test(.router) { client in
                let set = try await client.call(.put, "/api/manager/balance", #"{"limits": {"separate": 1, "render": 0}}"#, token: fx.admin)
                #expect(set.status == 200, "\(set.text)")
                let bad = try await client.call(.put, "/api/manager/balance", #"{"limits": {"dance": 1}}"#, token: fx.admin)
                #expect(bad.status == 400, "\(bad.text)")
            }
            fx.daemon.shutdown(taskGrace: 1)
        }
        let again = try DaemonFixture(stateDirectory: dir)
        defer { again.daemon.shutdown(taskGrace: 1) }
        try await again.app().test(.router) { client in
            let b = try await client.call(.get, "/api/manager/balance")
            #expect(b.json["limits"]?["separate"]?.number == 1, "\(b.text)")
            #expect(b.json["limits"]?["render"]?.number == 0, "\(b.text)")
        }
    }

    @Test func metrics_and_openapi_cover_the_api() async throws {
        let fx = try DaemonFixture()
        defer { fx.close() }
        try await fx.app().test(.router) { client in
            _ = try await client.call(.post, "/api/team/tasks", #"{"kind": "effect", "payload": {"master": {"crossfader": 0}}}"#, token: fx.admin)
            try await Task.sleep(nanoseconds: 1_200_000_000)  // one metrics sample of the control loop
            let m = try await client.call(.get, "/metrics")
            #expect(m.status == 200)
            for name in ["djcore_period_render_seconds", "djcore_xruns_total", "djcore_command_queue_depth",
                         "djcore_tasks", "djcore_task_latency_seconds", "djcore_api_requests_total"] {
                #expect(m.text.contains(name), "\(name) missing from /metrics")
            }
            let page = try await client.call(.get, "/")
            #expect(page.status == 200 && page.text.contains("/api/ws"), "the web page")
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let doc = try await client.call(.get, "/openapi.json")
            #expect(doc["openapi"]?.string == "3.1.0")
            let paths = doc["paths"]
            for route in DJServerApp.routes(fx.daemon).routes {
                #expect(paths?[route.pattern]?[route.method.rawValue.lowercased()] != nil,
                        "\(route.method.rawValue) \(route.pattern) is not in the OpenAPI document")
            }
            #expect(paths?["/api/ws"] != nil)
        }
    }
}
