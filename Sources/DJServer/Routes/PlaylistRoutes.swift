import DJCore
import Foundation

extension DJServerApp {
    static func playlistRoutes(_ d: Daemon) -> [APIRoute] {
        var r: [APIRoute] = []
        let store = d.store
        r.append(APIRoute(.GET, "/api/dj/playlist", .read, tag: "playlist", summary: "All playlists (without entries)") { _ in
            try .ok(try await d.offload { try store.playlists() })
        })
        r.append(APIRoute(.POST, "/api/dj/playlist", .write, tag: "playlist",
                          summary: "Create a playlist, optionally with files",
                          body: Schema.object(["name": Schema.string("1 ... 200 characters, unique"),
                                               "paths": Schema.array(Schema.string())], required: ["name"]),
                          success: 201) { req in
            let f = try req.fields()
            try f.only(["name", "paths"])
            let name = try f.string("name", maxLength: 200)
            var paths: [String] = []
            for (i, p) in (try f.optionalArray("paths") ?? []).enumerated() {
                guard case let .string(s) = p, !s.isEmpty else { throw APIError.badRequest("paths[\(i)] must be a file path, got \(p.kindDescription)") }
                paths.append(s)
            }
            let files = paths
            let list = try await d.offload { try store.createPlaylist(name: name, paths: files) }
            return try .ok(list, status: 201)
        })
        r.append(APIRoute(.GET, "/api/dj/playlist/{id}", .read, tag: "playlist", summary: "A playlist with its entries") { req in
            let id = try req.intParameter("id", what: "playlist")
            return try .ok(try await d.offload { try store.playlist(id: id) })
        })
        r.append(APIRoute(.PATCH, "/api/dj/playlist/{id}", .write, tag: "playlist", summary: "Rename a playlist",
                          body: Schema.object(["name": Schema.string()], required: ["name"])) { req in
            let id = try req.intParameter("id", what: "playlist")
            let f = try req.fields()
            try f.only(["name"])
            let name = try f.string("name", maxLength: 200)
            return try .ok(try await d.offload { try store.renamePlaylist(id: id, to: name) })
        })
        r.append(APIRoute(.DELETE, "/api/dj/playlist/{id}", .write, tag: "playlist", summary: "Delete a playlist (not while the queue plays it)") { req in
            let id = try req.intParameter("id", what: "playlist")
            if d.queuePlaylistID() == id && d.queue.status.state != .idle {
                throw APIError(409, "conflict", "playlist \(id) is playing; stop the queue first")
            }
            try await d.offload { try store.deletePlaylist(id: id) }
            return try .done("playlist \(id) deleted")
        })
        r.append(APIRoute(.POST, "/api/dj/playlist/{id}/entries", .write, tag: "playlist",
                          summary: "Add a file (or a library track) to a playlist, at the end or at a position",
                          body: Schema.object(["path": Schema.string(), "trackID": Schema.integer(1),
                                               "position": Schema.integer(0)]), success: 201) { req in
            let id = try req.intParameter("id", what: "playlist")
            let f = try req.fields()
            try f.only(["path", "trackID", "position"])
            let pos = try f.optionalInt("position", in: 0...1_000_000)
            let entry: PlaylistEntry
            if let tid = try f.optionalInt("trackID", in: 1...Int.max) {
                entry = try await d.offload { try store.addEntry(playlistID: id, trackID: tid, at: pos) }
            } else {
                let path = try f.string("path")
                entry = try await d.offload { try store.addEntry(playlistID: id, path: path, at: pos) }
            }
            try d.playlistChanged(id)
            return try .ok(entry, status: 201)
        })
        r.append(APIRoute(.PUT, "/api/dj/playlist/{id}/entries/{entry}", .write, tag: "playlist",
                          summary: "Move an entry to a position",
                          body: Schema.object(["position": Schema.integer(0)], required: ["position"])) { req in
            let id = try req.intParameter("id", what: "playlist")
            let entry = try req.intParameter("entry", what: "entry")
            let f = try req.fields()
            try f.only(["position"])
            let pos = try f.int("position", in: 0...1_000_000)
            let list = try await d.offload { try store.moveEntry(playlistID: id, entryID: entry, to: pos) }
            try d.playlistChanged(id)
            return try .ok(list)
        })
        r.append(APIRoute(.DELETE, "/api/dj/playlist/{id}/entries/{entry}", .write, tag: "playlist",
                          summary: "Remove an entry") { req in
            let id = try req.intParameter("id", what: "playlist")
            let entry = try req.intParameter("entry", what: "entry")
            let list = try await d.offload { try store.removeEntry(playlistID: id, entryID: entry) }
            try d.playlistChanged(id)
            return try .ok(list)
        })
        r.append(APIRoute(.POST, "/api/dj/playlist/{id}/start", .write, tag: "playlist",
                          summary: "Start the queue: play the playlist from an entry (default the first), crossfading",
                          body: Schema.object(["index": Schema.integer(0, nil, "0-based entry position")])) { req in
            let id = try req.intParameter("id", what: "playlist")
            let f = try req.fields()
            try f.only(["index"])
            let index = try f.optionalInt("index", in: 0...1_000_000) ?? 0
            try d.startQueue(playlistID: id, at: index)
            return try .ok(d.queue.status)
        })
        r.append(APIRoute(.POST, "/api/dj/playlist/stop", .write, tag: "playlist", summary: "Stop the queue (fades out)",
                          body: Schema.object(["fadeSeconds": Schema.number(0, 30)])) { req in
            let f = try req.fields()
            try f.only(["fadeSeconds"])
            try d.stopQueue(fadeSeconds: try f.optionalDouble("fadeSeconds", in: 0...30, unit: " s") ?? 0.5)
            return try .ok(d.queue.status)
        })
        r.append(APIRoute(.POST, "/api/dj/playlist/skip", .write, tag: "playlist", summary: "Crossfade to the next entry now") { _ in
            guard d.queue.status.state != .idle else { throw APIError(409, "conflict", "the queue is not playing") }
            try d.queue.skip()
            return try .ok(d.queue.status)
        })
        r.append(APIRoute(.GET, "/api/dj/playlist/queue", .read, tag: "playlist", summary: "The queue: state, current and next entry, position, skipped files") { _ in
            try .ok(d.queue.status)
        })
        r.append(APIRoute(.GET, "/api/dj/library", .read, tag: "playlist", summary: "Library tracks (with analysis when known)") { req in
            let limit = try req.intQuery("limit", in: 1...1000) ?? 100
            let offset = try req.intQuery("offset", in: 0...Int.max) ?? 0
            return try .ok(try await d.offload { try store.tracks(limit: limit, offset: offset) })
        })
        r.append(APIRoute(.POST, "/api/dj/library", .write, tag: "playlist", summary: "Add a file to the library (probed, not yet analysed)",
                          body: Schema.object(["path": Schema.string()], required: ["path"]), success: 201) { req in
            let f = try req.fields()
            try f.only(["path"])
            let path = try f.string("path")
            return try .ok(try await d.offload { try store.addTrack(path: path) }, status: 201)
        })
        r.append(APIRoute(.GET, "/api/dj/library/{id}", .read, tag: "playlist", summary: "A library track") { req in
            let id = try req.intParameter("id", what: "track")
            guard let t = try await d.offload({ try store.track(id: id) }) else {
                throw APIError.notFound("track \(id) does not exist")
            }
            return try .ok(t)
        })
        return r
    }
}

extension Daemon {
    /// The playlist the queue is playing (from the store), if any.
    func queuePlaylistID() -> Int? {
        (try? store.queueState())?.flatMap { $0.playing ? $0.playlistID : nil }
    }

    /// Plays `playlistID` from entry `index`: the queue's two decks (1 and 2) crossfade through it.
    public func startQueue(playlistID: Int, at index: Int) throws {
        let list = try store.playlist(id: playlistID)
        guard !list.entries.isEmpty else { throw APIError(409, "conflict", "playlist \(playlistID) ('\(list.name)') is empty") }
        guard index < list.entries.count else {
            throw APIError.badRequest("'index' \(index) is past the end of playlist \(playlistID) (0 ... \(list.entries.count - 1))")
        }
        try queue.start(items: list.queueItems, at: index)
        try store.setQueueState(playlistID: playlistID, index: index, entryID: list.entries[index].id, playing: true)
    }

    public func stopQueue(fadeSeconds: Double) throws {
        try queue.stop(fadeSeconds: fadeSeconds)
        try store.clearQueueState()
    }

    /// Keeps the queue in step with an edited playlist it is playing.
    func playlistChanged(_ id: Int) throws {
        guard queuePlaylistID() == id, queue.status.state != .idle else { return }
        queue.update(items: try store.playlist(id: id).queueItems)
    }

    /// Makes the playlist "demo" from the audio files in `directory` (if it does not exist yet) and plays it.
    func makeDemoPlaylist(from directory: String) throws {
        let list: Playlist
        if let existing = try store.playlist(named: "demo") {
            list = existing
        } else {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { ["wav", "flac", "ogg", "mp3", "aiff", "aif"].contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
                .map { (directory as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else {
                throw DJCoreError.invalidArgument("--demo \(directory): no audio files there (run scripts/make-fixtures.sh?)")
            }
            list = try store.createPlaylist(name: "demo", paths: files)
            // analyse every demo track in the background: the queue uses loudness and music start once known
            for e in list.entries {
                _ = try? team.submit(TaskSpec(kind: .analyse, payload: ["trackID": .number(Double(e.track.id))], priority: -10))
            }
        }
        try startQueue(playlistID: list.id, at: 0)
        logger.info("demo: playing playlist \(list.id) 'demo' (\(list.entries.count) tracks)")
    }
}
