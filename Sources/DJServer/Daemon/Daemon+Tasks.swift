import DJCore
import Foundation

/// The work behind each task kind. Handlers run on the Team Service's worker threads (normal priority),
/// never on the audio thread; effect and playlist tasks act through the same command path as the API
/// (`MixerControl` -> `Engine.send`, and the playlist queue).
///
/// Payloads:
///   - analyse: `{"path": file}` or `{"trackID": n}`: analyses (cached by content), stores the result in
///     the library; result `{trackID, path, bpm, key, integratedLUFS}`.
///   - separate: `{"path": file}` or `{"trackID": n}`, optional `"outputDirectory"` (default
///     `<state>/stems/track-<library id>`): writes drums / bass / other WAVs; result `{stems: {name: path}, ...}`.
///   - render: `{"mix": mix file, "output": WAV path}`: renders a mix file offline; result `{output, seconds, peak}`.
///   - playlist: `{"action": "add", "playlist": id or name, "path" | "trackID", "position"?}`,
///     `{"action": "create", "name", "paths"?}`, `{"action": "start", "playlist", "index"?}`, `{"action": "stop"}`,
///     `{"action": "skip"}`.
///   - effect: the body of `PUT /api/dj/effects` (`decks`, `master`, `rampSeconds`), plus optional
///     `"in"`: seconds from now at which it takes effect (sample-accurate).
extension Daemon {
    func registerTaskHandlers() {
        let store = self.store
        let stateDir = configuration.stateDirectory
        let analyzer = try? TrackAnalyzer(cache: AnalysisCache(directory: (stateDir as NSString).appendingPathComponent("analysis-cache")))

        register(.analyse) { [weak daemon = self] ctx in
            let f = try Self.payloadFields(ctx)
            try f.only(["path", "trackID"])
            let entry = try Self.libraryEntry(f, store: store)
            guard let analyzer else { throw DJCoreError.invalidArgument("the analyser could not be created") }
            let a = try analyzer.analyze(path: entry.path) { p in ctx.progress(p, "analysing") }
            try ctx.checkCancelled()
            let updated = try store.setAnalysis(trackID: entry.id, a)
            daemon?.analysisUpdated(updated)
            var out: [String: JSONValue] = ["trackID": .number(Double(entry.id)), "path": .string(entry.path)]
            if let bpm = a.bpm { out["bpm"] = .number(bpm) }
            if let k = a.key { out["key"] = .string(k) }
            if let l = a.loudness.integratedLUFS { out["integratedLUFS"] = .number(l) }
            return .object(out)
        }

        register(.separate) { ctx in
            let f = try Self.payloadFields(ctx)
            // "analysis": what the prepare-track workflow passes on from its analyse step (not needed here)
            try f.only(["path", "trackID", "outputDirectory", "analysis"])
            let entry = try Self.libraryEntry(f, store: store)
            // one folder per library track: a second separation of the same track replaces the first
            let dir = try f.optionalString("outputDirectory")
                ?? ((stateDir as NSString).appendingPathComponent("stems") as NSString).appendingPathComponent("track-\(entry.id)")
            let sep = try StemSeparator()
            let result = try sep.separate(path: entry.path, outputDirectory: dir,
                                          progress: { p in ctx.progress(p, "separating") },
                                          isCancelled: { ctx.isCancelled })
            var value = try APIJSON.value(result)
            if case var .object(o) = value {
                o["trackID"] = .number(Double(entry.id))
                value = .object(o)
            }
            return value
        }

        register(.render) { ctx in
            let f = try Self.payloadFields(ctx)
            try f.only(["mix", "output"])
            let mixPath = try f.string("mix")
            let output = try f.string("output")
            let mix: MixFile
            do { mix = try MixFile.load(path: mixPath) } catch {
                throw DJCoreError.invalidArgument("\(error)")
            }
            let summary = try MixRenderer(mix: mix).render(to: output) { done, total in
                ctx.progress(total > 0 ? Double(done) / Double(total) : 0, "rendering")
            }
            return ["output": .string(output), "seconds": .number(summary.seconds), "peak": .number(Double(summary.peak))]
        }

        register(.playlist) { [weak self] ctx in
            guard let self else { throw DJCoreError.cancelled("the daemon is shutting down") }
            return try self.runPlaylistTask(try Self.payloadFields(ctx))
        }

        register(.effect) { [weak self] ctx in
            guard let self else { throw DJCoreError.cancelled("the daemon is shutting down") }
            let f = try Self.payloadFields(ctx)
            let delay = try f.optionalDouble("in", in: 0...3600, unit: " s")
            var rest = f.object
            rest["in"] = nil
            let cmds = try self.mixer.effectCommands(Fields(rest, where: "the payload"))
            let at = delay.map { self.engine.frame + UInt64($0 * Double(self.engine.sampleRate)) }
            try self.mixer.send(cmds, at: at)
            return ["commands": .number(Double(cmds.count)), "atFrame": at.map { .number(Double($0)) } ?? .null]
        }
    }

    /// Registers a handler whose request-shaped errors (a bad payload field: 400, 404, 422) become
    /// `invalidArgument`, which the Team Service does not retry: the same payload would fail again.
    private func register(_ kind: TaskKind, _ handler: @escaping @Sendable (TaskContext) throws -> JSONValue) {
        team.register(kind) { ctx in
            do {
                return try handler(ctx)
            } catch let e as APIError where [400, 404, 422].contains(e.status) {
                throw DJCoreError.invalidArgument(e.message)
            } catch let e as APIError {
                throw DJCoreError.conflict(e.message)
            }
        }
    }

    /// The task's payload as fields; a payload that is not an object is a permanent error.
    static func payloadFields(_ ctx: TaskContext) throws -> Fields {
        guard case let .object(o) = ctx.payload else {
            throw DJCoreError.invalidArgument("the payload of a \(ctx.kind.rawValue) task must be a JSON object, got \(ctx.payload.kindDescription)")
        }
        return Fields(o, where: "the payload")
    }

    /// The library entry a payload names by "trackID" or "path" (added to the library if new).
    static func libraryEntry(_ f: Fields, store: StateStore) throws -> LibraryTrack {
        do {
            if let id = try f.optionalInt("trackID", in: 1...Int.max) {
                guard let t = try store.track(id: id, includeAnalysis: false) else {
                    throw DJCoreError.invalidArgument("track \(id) does not exist in the library")
                }
                return t
            }
            return try store.addTrack(path: try f.string("path"))
        } catch let e as APIError {
            throw DJCoreError.invalidArgument(e.message)
        }
    }

    func runPlaylistTask(_ f: Fields) throws -> JSONValue {
        let action = try f.optionalChoice("action", ["add", "create", "start", "stop", "skip"]) ?? "add"
        func playlistID() throws -> Int {
            switch f.value("playlist") {
            case let .number(n)?: return Int(n)
            case let .string(name)?:
                guard let p = try store.playlist(named: name, includeAnalysis: false) else {
                    throw DJCoreError.invalidArgument("playlist '\(name)' does not exist")
                }
                return p.id
            default: throw DJCoreError.invalidArgument("'playlist' (an id or a name) is required")
            }
        }
        do {
            switch action {
            case "add":
                // "analysis" / "stems": earlier steps' results the prepare-track workflow passes along
                try f.only(["action", "playlist", "path", "trackID", "position", "analysis", "stems"])
                let id = try playlistID()
                let pos = try f.optionalInt("position", in: 0...1_000_000)
                let entry: PlaylistEntry
                if let tid = try f.optionalInt("trackID", in: 1...Int.max) {
                    entry = try store.addEntry(playlistID: id, trackID: tid, at: pos)
                } else {
                    entry = try store.addEntry(playlistID: id, path: try f.string("path"), at: pos)
                }
                try playlistChanged(id)
                return ["playlist": .number(Double(id)), "entryID": .number(Double(entry.id)), "position": .number(Double(entry.position))]
            case "create":
                try f.only(["action", "name", "paths"])
                let paths = (try f.optionalArray("paths") ?? []).compactMap { v -> String? in if case let .string(s) = v { return s }; return nil }
                let list = try store.createPlaylist(name: try f.string("name"), paths: paths)
                return ["playlist": .number(Double(list.id)), "entries": .number(Double(list.entries.count))]
            case "start":
                try f.only(["action", "playlist", "index"])
                let id = try playlistID()
                try startQueue(playlistID: id, at: try f.optionalInt("index", in: 0...1_000_000) ?? 0)
                return ["playlist": .number(Double(id)), "state": .string(queue.status.state.rawValue)]
            case "stop":
                try f.only(["action", "fadeSeconds"])
                try stopQueue(fadeSeconds: try f.optionalDouble("fadeSeconds", in: 0...30) ?? 0.5)
                return ["state": "stopped"]
            default:
                try f.only(["action"])
                try queue.skip()
                return ["state": .string(queue.status.state.rawValue)]
            }
        } catch let e as APIError where e.status < 500 && e.status != 409 {
            throw DJCoreError.invalidArgument(e.message)
        }
    }

    /// `POST /api/dj/process`: one task of the asked kind.
    func submitProcess(_ f: Fields) async throws -> TeamTask {
        try f.only(["action", "path", "trackID", "mix", "output", "outputDirectory", "priority"])
        let action = try f.optionalChoice("action", ["analyse", "analyze", "separate", "render"])
        guard let action else { throw APIError.badRequest("'action' is required: analyse, separate or render") }
        let priority = try f.optionalInt("priority", in: -100...100) ?? 0
        var payload: [String: JSONValue] = [:]
        let kind: TaskKind
        switch action {
        case "render":
            kind = .render
            payload["mix"] = .string(try f.string("mix"))
            payload["output"] = .string(try f.string("output"))
        default:
            kind = action == "separate" ? .separate : .analyse
            if let id = try f.optionalInt("trackID", in: 1...Int.max) {
                payload["trackID"] = .number(Double(id))
            } else {
                let path = try f.string("path")
                guard FileManager.default.fileExists(atPath: path) else {
                    throw APIError(422, "track_load", "\(path): file not found")
                }
                payload["path"] = .string(path)
            }
            if kind == .separate, let dir = try f.optionalString("outputDirectory") { payload["outputDirectory"] = .string(dir) }
        }
        let spec = TaskSpec(kind: kind, payload: .object(payload), priority: priority)
        return try await offload { [team] in try team.submit(spec) }
    }
}

extension StateStore {
    /// Creates a playlist with `paths` as its entries. Every file is checked before anything is stored,
    /// so a bad file in the list leaves no half-made playlist behind.
    public func createPlaylist(name: String, paths: [String]) throws -> Playlist {
        for p in paths { _ = try Track.probe(path: p) }
        let list = try createPlaylist(name: name)
        do {
            for p in paths { _ = try addEntry(playlistID: list.id, path: p) }
        } catch {
            try? deletePlaylist(id: list.id)
            throw error
        }
        return try playlist(id: list.id)
    }
}
