import DJCore
import Foundation

/// Schema helpers for the OpenAPI document.
enum Schema {
    static func object(_ props: [String: JSONValue], required: [String] = []) -> JSONValue {
        var o: [String: JSONValue] = ["type": "object", "properties": .object(props), "additionalProperties": .bool(false)]
        if !required.isEmpty { o["required"] = .array(required.map { .string($0) }) }
        return .object(o)
    }
    static func number(_ min: Double? = nil, _ max: Double? = nil, _ description: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": "number"]
        if let min { o["minimum"] = .number(min) }
        if let max { o["maximum"] = .number(max) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }
    static func integer(_ min: Double? = nil, _ max: Double? = nil, _ description: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": "integer"]
        if let min { o["minimum"] = .number(min) }
        if let max { o["maximum"] = .number(max) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }
    static func string(_ description: String? = nil, enum values: [String]? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": "string"]
        if let description { o["description"] = .string(description) }
        if let values { o["enum"] = .array(values.map { .string($0) }) }
        return .object(o)
    }
    static let bool: JSONValue = ["type": "boolean"]
    static func array(_ items: JSONValue) -> JSONValue { .object(["type": "array", "items": items]) }
    static let any: JSONValue = .object([:])
    static let empty = object([:])
}


extension DJServerApp {
    /// Every route of the API.
    public static func routes(_ daemon: Daemon) -> APIRouteTable {
        var t = APIRouteTable()
        t.add(djRoutes(daemon))
        t.add(playlistRoutes(daemon))
        t.add(teamRoutes(daemon))
        t.add(managerRoutes(daemon))
        t.add(systemRoutes(daemon, table: t))
        return t
    }

    static func djRoutes(_ d: Daemon) -> [APIRoute] {
        var r: [APIRoute] = []
        r.append(APIRoute(.GET, "/api/dj/status", .read, tag: "dj",
                          summary: "Decks, mixer, master levels, now playing, the sound device, xruns and render load") { _ in
            try .ok(d.statusReport())
        })
        r.append(APIRoute(.GET, "/api/dj/decks", .read, tag: "dj", summary: "Every deck's transport state") { _ in
            try .ok(d.deckStatuses())
        })
        r.append(APIRoute(.GET, "/api/dj/decks/{n}", .read, tag: "dj", summary: "One deck") { req in
            let n = try req.intParameter("n", in: 1...d.engine.configuration.decks, what: "deck")
            return try .ok(d.deckStatuses()[n - 1])
        })
        r.append(APIRoute(.POST, "/api/dj/decks/{n}/load", .write, tag: "dj",
                          summary: "Load a file (by path, or a library track by id) onto a deck",
                          body: Schema.object(["path": Schema.string("audio file (WAV, FLAC, Ogg, MP3, AIFF)"),
                                               "trackID": Schema.integer(1, nil, "library track id"),
                                               "position": Schema.number(0, 86400, "start position, s"),
                                               "play": Schema.bool])) { req in
            let n = try req.intParameter("n", in: 1...d.engine.configuration.decks, what: "deck")
            return try .ok(try await d.loadDeck(n, try req.fields()))
        })
        let actions: [(String, String, JSONValue)] = [
            ("play", "Start the deck", Schema.empty),
            ("pause", "Pause the deck", Schema.empty),
            ("cue", "Jump to the cue point, or set it ({\"set\": true, \"position\"?: s})",
             Schema.object(["set": Schema.bool, "position": Schema.number(0, 86400)])),
            ("seek", "Seek to a position in seconds, or to a beat of the grid",
             Schema.object(["position": Schema.number(0, nil, "s"), "beat": Schema.integer(0)])),
            ("rate", "Playback rate (0.5 ... 2, pitch with speed), or a target tempo in BPM; optional glide",
             Schema.object(["rate": Schema.number(0.5, 2), "bpm": Schema.number(20, 400), "rampSeconds": Schema.number(0, 60)])),
            ("loop", "Set a loop by seconds or by beats from the current beat, or exit / re-enter it",
             Schema.object(["start": Schema.number(0), "end": Schema.number(0), "beats": Schema.number(0.0625, 64),
                            "action": Schema.string(nil, enum: ["exit", "reenter"])])),
        ]
        for (action, summary, schema) in actions {
            r.append(APIRoute(.POST, "/api/dj/decks/{n}/\(action)", .write, tag: "dj", summary: summary, body: schema) { req in
                let n = try req.intParameter("n", in: 1...d.engine.configuration.decks, what: "deck")
                return try .ok(try await d.transport(n, action: action, try req.fields()))
            })
        }
        let stripSchema = Schema.object([
            "deck": Schema.integer(1, 8), "trimDb": Schema.number(-60, 18),
            "eq": Schema.object(["low": Schema.number(-60, 12), "mid": Schema.number(-60, 12), "high": Schema.number(-60, 12)]),
            "kill": Schema.object(["low": Schema.bool, "mid": Schema.bool, "high": Schema.bool]),
            "filter": Schema.number(-1, 1, "-1 low-pass closed ... 0 off ... +1 high-pass closed"),
            "filterResonance": Schema.number(0.5, 8), "fader": Schema.number(0, 1),
            "assign": Schema.string(nil, enum: ["A", "B", "thru"]), "cue": Schema.bool, "rampSeconds": Schema.number(0, 60),
        ], required: ["deck"])
        let effectsSchema = Schema.object([
            "decks": Schema.array(stripSchema),
            "master": Schema.object([
                "crossfader": Schema.number(-1, 1), "curve": Schema.string(nil, enum: CrossfaderCurve.allCases.map(\.rawValue)),
                "masterGainDb": Schema.number(-60, 18), "cueMix": Schema.number(0, 1), "cueGainDb": Schema.number(-60, 18),
                "limiterCeilingDb": Schema.number(-40, 0), "rampSeconds": Schema.number(0, 60),
            ]),
            "rampSeconds": Schema.number(0, 60, "default ramp for every change, s (0: at once)"),
        ])
        r.append(APIRoute(.GET, "/api/dj/effects", .read, tag: "dj", summary: "Per-deck channel strip (trim, EQ, kills, filter, fader) and master section") { _ in
            try .ok(d.mixer.effectsSnapshot())
        })
        for method in [HTTPMethodName.PUT, .POST] {
            r.append(APIRoute(method, "/api/dj/effects", .write, tag: "dj",
                              summary: "Set mixer and effect parameters (all validated first; ramped on the audio side)",
                              body: effectsSchema) { req in
                let cmds = try d.mixer.effectCommands(try req.fields())
                let applied = d.engine.state().commandsApplied + UInt64(cmds.count)
                try d.mixer.send(cmds)
                let deadline = Date().addingTimeInterval(2)
                while d.engine.state().commandsApplied < applied && Date() < deadline {
                    try await Task.sleep(nanoseconds: 5_000_000)
                }
                return try .ok(d.mixer.effectsSnapshot())
            })
        }
        r.append(APIRoute(.POST, "/api/dj/process", .write, tag: "dj",
                          summary: "Submit processing: analyse, separate (stems) or render (a mix file to WAV); answers 202 with the task",
                          body: Schema.object([
                              "action": Schema.string(nil, enum: ["analyse", "separate", "render"]),
                              "path": Schema.string("audio file (analyse, separate)"),
                              "mix": Schema.string("mix file (render)"), "output": Schema.string("WAV to write (render)"),
                              "outputDirectory": Schema.string("where stems go (separate)"),
                              "priority": Schema.integer(-100, 100),
                          ], required: ["action"]), success: 202) { req in
            try .ok(try await d.submitProcess(try req.fields()), status: 202)
        })
        r.append(APIRoute(.GET, "/api/dj/process", .read, tag: "dj", summary: "Recent processing tasks (analyse, separate, render)") { req in
            var filter = TaskFilter(kinds: [.analyse, .separate, .render])
            filter.limit = try req.intQuery("limit", in: 1...1000) ?? 50
            return try .ok(try d.team.list(filter))
        })
        return r
    }
}
