import DJCore
import Foundation
import Testing

/// A temporary state directory with a few small audio files in it.
private final class StoreFixture {
    let dir: URL
    var stateDir: String { dir.appendingPathComponent("state").path }

    init() throws {
        dir = try TestAudio.tempDir()
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Writes a stereo WAV of `seconds` at `rate` and returns its path.
    @discardableResult
    func wav(_ name: String, seconds: Double = 0.5, rate: Int = 44100, hz: Double = 440) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try TestAudio.write(TestAudio.sine(hz, seconds: seconds, rate: rate), to: path, rate: rate)
        return path
    }

    func textFile(_ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data("this is not audio, just text with a .wav name\n".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func open() throws -> StateStore { try StateStore(directory: stateDir) }
}

/// The error a throwing call raised, or nil.
private func errorOf<T>(_ body: () throws -> T) -> DJCoreError? {
    do {
        _ = try body()
        return nil
    } catch let e as DJCoreError {
        return e
    } catch {
        return .invalidArgument("unexpected error type: \(error)")
    }
}

@Suite("StateStore")
struct StateStoreTests {
    @Test func opening_creates_the_file_at_schema_version_1() throws {
        let f = try StoreFixture()
        let store = try f.open()
        #expect(FileManager.default.fileExists(atPath: f.stateDir + "/djcore.sqlite"))
        #expect(try store.database.userVersion() == 1)
        #expect(StateStore.defaultDirectory().hasSuffix("/djcore"))
        #expect(StateStore.defaultDirectory().hasPrefix("/"))
    }

    @Test func add_track_probes_the_file_and_adding_it_again_returns_the_same_entry() throws {
        let f = try StoreFixture()
        let path = try f.wav("Kick Loop.wav", seconds: 1.5, rate: 44100)
        let store = try f.open()
        let t = try store.addTrack(path: path)
        #expect(t.path == path)
        #expect(t.title == "Kick Loop")
        #expect(abs((t.duration ?? 0) - 1.5) < 1e-6)
        #expect(t.sampleRate == 44100)
        #expect(t.channels == 2)
        #expect(t.format.contains("WAV"))
        #expect(t.analysis == nil && !t.analyzed)
        // The same file by another spelling of its path is the same entry.
        let again = try store.addTrack(path: f.dir.path + "/./sub/../Kick Loop.wav")
        #expect(again == t)
        #expect(try store.trackCount() == 1)
        #expect(try store.track(id: t.id) == t)
        #expect(try store.track(path: path) == t)
        #expect(try store.track(id: 999) == nil)
    }

    @Test func tracks_are_listed_in_the_order_added_with_paging() throws {
        let f = try StoreFixture()
        let store = try f.open()
        var ids: [Int] = []
        for i in 0..<5 { ids.append(try store.addTrack(path: try f.wav("t\(i).wav")).id) }
        #expect(try store.tracks().map(\.id) == ids)
        #expect(try store.tracks(limit: 2, offset: 1).map(\.id) == Array(ids[1...2]))
        #expect(try store.tracks(limit: 10, offset: 5).isEmpty)
        #expect(errorOf { try store.tracks(limit: 0) } == .invalidArgument("limit 0 is outside 1 ... 10000"))
        #expect(errorOf { try store.tracks(offset: -1) } == .invalidArgument("offset -1 must be 0 or more"))
    }

    @Test func missing_file_is_refused_naming_it() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let path = f.dir.appendingPathComponent("nope.wav").path
        guard case let .trackLoad(p, reason, _) = errorOf({ try store.addTrack(path: path) }) else {
            Issue.record("expected trackLoad")
            return
        }
        #expect(p == path)
        #expect(reason == .notFound)
        #expect(try store.trackCount() == 0)
    }

    @Test func text_file_renamed_wav_is_refused_as_unsupported() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let path = try f.textFile("notes.wav")
        let e = errorOf { try store.addTrack(path: path) }
        guard case let .trackLoad(p, reason, _) = e else {
            Issue.record("expected trackLoad, got \(String(describing: e))")
            return
        }
        #expect(p == path)
        #expect(reason == .unsupported || reason == .corrupt, "\(reason)")
        #expect(e!.description.contains("notes.wav"))
        // A directory is refused too, and so is an empty path.
        #expect(errorOf { try store.addTrack(path: f.dir.path) }?.description.contains("directory") == true)
        #expect(errorOf { try store.addTrack(path: "") } == .invalidArgument("path must not be empty"))
        #expect(try store.trackCount() == 0)
    }

    @Test func playlist_names_are_unique_and_1_to_200_characters() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let friday = try store.createPlaylist(name: "  Friday ")
        #expect(friday.name == "Friday")
        #expect(friday.entries.isEmpty)
        #expect(errorOf { try store.createPlaylist(name: "Friday") } ==
            .conflict("a playlist named \"Friday\" already exists (playlist \(friday.id))"))
        #expect(errorOf { try store.createPlaylist(name: "FRIDAY") } != nil)
        #expect(errorOf { try store.createPlaylist(name: "") } ==
            .invalidArgument("playlist name must be 1 ... 200 characters (after trimming spaces), got 0"))
        #expect(errorOf { try store.createPlaylist(name: "   ") } != nil)
        #expect(errorOf { try store.createPlaylist(name: String(repeating: "x", count: 201)) } ==
            .invalidArgument("playlist name must be 1 ... 200 characters (after trimming spaces), got 201"))
        #expect(try store.createPlaylist(name: String(repeating: "é", count: 200)).name.count == 200)
        #expect(errorOf { try store.createPlaylist(name: "a\u{7}b") }?.description.contains("control character") == true)

        let saturday = try store.createPlaylist(name: "Saturday")
        #expect(errorOf { try store.renamePlaylist(id: saturday.id, to: "friday") } != nil)
        #expect(try store.renamePlaylist(id: saturday.id, to: "Saturday").name == "Saturday")
        let renamed = try store.renamePlaylist(id: saturday.id, to: "Saturday night")
        #expect(renamed.name == "Saturday night")
        #expect(renamed.updatedAt >= saturday.updatedAt)
        #expect(try store.playlists().map(\.name) == [String(repeating: "é", count: 200), "Friday", "Saturday night"].sorted {
            $0.lowercased() < $1.lowercased()
        })
        #expect(try store.playlist(named: "saturday NIGHT")?.id == saturday.id)
        #expect(try store.playlist(named: "Sunday") == nil)
    }

    @Test func entries_stay_dense_through_add_insert_move_remove() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let p = try store.createPlaylist(name: "Set")
        let a = try store.addEntry(playlistID: p.id, path: try f.wav("a.wav"))
        let b = try store.addEntry(playlistID: p.id, path: try f.wav("b.wav"))
        let c = try store.addEntry(playlistID: p.id, path: try f.wav("c.wav"))
        #expect([a.position, b.position, c.position] == [Int]([0, 1, 2]))
        #expect(a.track.title == "a")
        // The same track may appear twice; adding by id needs no file access.
        let d = try store.addEntry(playlistID: p.id, trackID: a.track.id, at: 1)
        func order() throws -> [Int] {
            let list = try store.playlist(id: p.id)
            #expect(list.entries.map(\.position) == Array(0..<list.entries.count))
            return list.entries.map(\.id)
        }
        #expect(try order() == [a.id, d.id, b.id, c.id])
        try store.moveEntry(playlistID: p.id, entryID: a.id, to: 3)
        #expect(try order() == [d.id, b.id, c.id, a.id])
        try store.moveEntry(playlistID: p.id, entryID: c.id, to: 0)
        #expect(try order() == [c.id, d.id, b.id, a.id])
        try store.moveEntry(playlistID: p.id, entryID: b.id, to: 2)  // to where it is
        #expect(try order() == [c.id, d.id, b.id, a.id])
        let after = try store.removeEntry(playlistID: p.id, entryID: d.id)
        #expect(after.entries.map(\.id) == [c.id, b.id, a.id])
        #expect(try order() == [c.id, b.id, a.id])
        let first = try store.addEntry(playlistID: p.id, path: try f.wav("e.wav"), at: 0)
        #expect(first.position == 0)
        #expect(try order() == [first.id, c.id, b.id, a.id])
        let summary = try #require(try store.playlists().first)
        #expect(summary.entryCount == 4)
        #expect(abs(summary.duration - 2.0) < 1e-6)
        // Entries carry everything the queue player needs.
        let items = try store.playlist(id: p.id).queueItems
        #expect(items.map(\.entryID) == [first.id, c.id, b.id, a.id])
        #expect(items[1].path == c.track.path && items[1].trackID == c.track.id && items[1].title == "c")
    }

    @Test func position_out_of_range_names_the_range() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let p = try store.createPlaylist(name: "Set")
        let a = try store.addEntry(playlistID: p.id, path: try f.wav("a.wav"))
        try store.addEntry(playlistID: p.id, path: try f.wav("b.wav"))
        #expect(errorOf { try store.addEntry(playlistID: p.id, trackID: a.track.id, at: 3) } ==
            .invalidArgument("position 3 is outside 0 ... 2 (playlist \(p.id) has 2 entries)"))
        #expect(errorOf { try store.addEntry(playlistID: p.id, trackID: a.track.id, at: -1) } ==
            .invalidArgument("position -1 is outside 0 ... 2 (playlist \(p.id) has 2 entries)"))
        #expect(errorOf { try store.moveEntry(playlistID: p.id, entryID: a.id, to: 2) } ==
            .invalidArgument("position 2 is outside 0 ... 1 (playlist \(p.id) has 2 entries)"))
        // A refused add leaves nothing behind: the new file did not enter the library either.
        let c = try f.wav("c.wav")
        #expect(errorOf { try store.addEntry(playlistID: p.id, path: c, at: 7) } != nil)
        #expect(try store.track(path: c) == nil)
        #expect(try store.playlist(id: p.id).entries.count == 2)
    }

    @Test func unknown_ids_are_not_found() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let p = try store.createPlaylist(name: "Set")
        let q = try store.createPlaylist(name: "Other")
        let a = try store.addEntry(playlistID: p.id, path: try f.wav("a.wav"))
        let wav = try f.wav("b.wav")
        #expect(errorOf { try store.playlist(id: 77) } == .notFound("playlist 77 does not exist"))
        #expect(errorOf { try store.renamePlaylist(id: 77, to: "x") } == .notFound("playlist 77 does not exist"))
        #expect(errorOf { try store.deletePlaylist(id: 77) } == .notFound("playlist 77 does not exist"))
        #expect(errorOf { try store.addEntry(playlistID: 77, path: wav) } == .notFound("playlist 77 does not exist"))
        #expect(errorOf { try store.addEntry(playlistID: p.id, trackID: 555) } == .notFound("track 555 does not exist"))
        #expect(errorOf { try store.moveEntry(playlistID: p.id, entryID: 999, to: 0) } ==
            .notFound("entry 999 is not in playlist \(p.id)"))
        #expect(errorOf { try store.removeEntry(playlistID: q.id, entryID: a.id) } ==
            .notFound("entry \(a.id) is not in playlist \(q.id)"))
        #expect(errorOf { try store.removeTrack(id: 555) } == .notFound("track 555 does not exist"))
        #expect(errorOf { try store.setTitle(trackID: 555, "x") } == .notFound("track 555 does not exist"))
        #expect(errorOf { try store.setQueueState(playlistID: 77, index: 0) } == .notFound("playlist 77 does not exist"))
        #expect(try store.track(path: wav) == nil)  // the refused add did not keep the file
    }

    @Test func remove_track_is_refused_while_a_playlist_uses_it() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let p = try store.createPlaylist(name: "Warm-up")
        let q = try store.createPlaylist(name: "Peak")
        let e1 = try store.addEntry(playlistID: p.id, path: try f.wav("a.wav"))
        let e2 = try store.addEntry(playlistID: q.id, trackID: e1.track.id)
        let e = errorOf { try store.removeTrack(id: e1.track.id) }
        guard case let .conflict(message) = e else {
            Issue.record("expected conflict, got \(String(describing: e))")
            return
        }
        #expect(message.contains("\"Warm-up\"") && message.contains("\"Peak\""), "\(message)")
        try store.removeEntry(playlistID: p.id, entryID: e1.id)
        try store.deletePlaylist(id: q.id)
        #expect(errorOf { try store.playlist(id: q.id) } != nil)
        _ = e2
        try store.removeTrack(id: e1.track.id)
        #expect(try store.track(id: e1.track.id) == nil)
        #expect(try store.trackCount() == 0)
    }

    @Test func analysis_is_stored_with_its_content_hash_and_can_be_left_out_of_listings() throws {
        let f = try StoreFixture()
        let path = try f.wav("tone.wav", seconds: 2, rate: 48000)
        let store = try f.open()
        let t = try store.addTrack(path: path)
        let analysis = try TrackAnalyzer().analyze(path: path)
        let updated = try store.setAnalysis(trackID: t.id, analysis)
        #expect(updated.analysis == analysis)
        #expect(updated.analyzed)
        #expect(updated.contentHash == analysis.contentHash && updated.contentHash != nil)
        #expect(try store.track(id: t.id)?.analysis == analysis)
        let light = try #require(try store.tracks(includeAnalysis: false).first)
        #expect(light.analysis == nil && light.analyzed)
        #expect(try store.track(id: t.id, includeAnalysis: false)?.analysis == nil)
        #expect(errorOf { try store.setAnalysis(trackID: 999, analysis) } == .notFound("track 999 does not exist"))
        // The queue item keeps what playback uses and drops the waveform overview.
        let item = updated.queueItem(entryID: 5)
        #expect(item.analysis?.musicStart == analysis.musicStart)
        #expect(item.analysis?.waveform == nil)
        let titled = try store.setTitle(trackID: t.id, "  A Tone ")
        #expect(titled.title == "A Tone")
        #expect(errorOf { try store.setTitle(trackID: t.id, " ") } != nil)
    }

    @Test func settings_hold_any_json_value() throws {
        let f = try StoreFixture()
        let store = try f.open()
        #expect(try store.setting("crossfade") == nil)
        try store.setSetting("crossfade", .number(8))
        try store.setSetting("device", .string("hw:1"))
        try store.setSetting("eq", .object(["low": .number(-3), "kill": .bool(false), "list": .array([.null])]))
        try store.setSetting("crossfade", .number(6.5))
        #expect(try store.setting("crossfade") == .number(6.5))
        #expect(try store.settings() == [
            "crossfade": .number(6.5), "device": .string("hw:1"),
            "eq": .object(["low": .number(-3), "kill": .bool(false), "list": .array([.null])]),
        ])
        #expect(try store.removeSetting("device"))
        #expect(try !store.removeSetting("device"))
        #expect(errorOf { try store.setSetting("", .null) } != nil)
        #expect(errorOf { try store.setSetting("x", .number(.nan)) } != nil)
    }

    @Test func queue_state_is_kept_and_goes_with_its_playlist() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let p = try store.createPlaylist(name: "Radio")
        let e = try store.addEntry(playlistID: p.id, path: try f.wav("a.wav"))
        #expect(try store.queueState() == nil)
        try store.setQueueState(playlistID: p.id, index: 0, entryID: e.id, playing: true)
        var s = try #require(try store.queueState())
        #expect(s.playlistID == p.id && s.index == 0 && s.entryID == e.id && s.playing)
        try store.setQueueState(playlistID: p.id, index: 3, playing: false)
        s = try #require(try store.queueState())
        #expect(s.index == 3 && s.entryID == nil && !s.playing)
        #expect(errorOf { try store.setQueueState(playlistID: p.id, index: -1) } != nil)
        try store.clearQueueState()
        #expect(try store.queueState() == nil)
        try store.setQueueState(playlistID: p.id, index: 0)
        try store.deletePlaylist(id: p.id)
        #expect(try store.queueState() == nil)
    }

    @Test func a_second_store_on_the_same_directory_sees_everything_after_reopen() throws {
        let f = try StoreFixture()
        let a = try f.wav("a.wav"), b = try f.wav("b.wav")
        var before: (playlists: [PlaylistSummary], list: Playlist, tracks: [LibraryTrack], settings: [String: JSONValue], queue: QueueState?)
        do {
            let store = try f.open()
            let p = try store.createPlaylist(name: "Keep")
            try store.addEntry(playlistID: p.id, path: a)
            let eb = try store.addEntry(playlistID: p.id, path: b, at: 0)
            let analysis = try TrackAnalyzer().analyze(path: a)
            try store.setAnalysis(trackID: try #require(try store.track(path: a)).id, analysis)
            try store.setSetting("volume", .number(-6))
            try store.setQueueState(playlistID: p.id, index: 0, entryID: eb.id)
            before = (try store.playlists(), try store.playlist(id: p.id), try store.tracks(), try store.settings(),
                      try store.queueState())
        }
        let reopened = try f.open()
        #expect(try reopened.playlists() == before.playlists)
        #expect(try reopened.playlist(id: before.list.id) == before.list)
        #expect(try reopened.tracks() == before.tracks)
        #expect(try reopened.settings() == before.settings)
        #expect(try reopened.queueState() == before.queue)
        #expect(before.list.entries.map(\.track.title) == ["b", "a"])
        // Two stores open at once on one file see each other's commits.
        let other = try f.open()
        try other.addEntry(playlistID: before.list.id, path: try f.wav("c.wav"))
        #expect(try reopened.playlist(id: before.list.id).entries.count == 3)
    }

    @Test func json_is_camel_case_with_iso_8601_dates() throws {
        let f = try StoreFixture()
        let store = try f.open()
        let p = try store.createPlaylist(name: "Json")
        let e = try store.addEntry(playlistID: p.id, path: try f.wav("a.wav"))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970  // ignored: the store's dates are always ISO 8601
        let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(e)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "position", "track", "addedAt"])
        let track = try #require(object["track"] as? [String: Any])
        #expect(Set(track.keys) == ["id", "path", "title", "duration", "sampleRate", "channels", "format", "contentHash",
                                    "analyzed", "analysis", "addedAt", "updatedAt"])
        #expect(track["analysis"] is NSNull && track["contentHash"] is NSNull)
        let added = try #require(track["addedAt"] as? String)
        #expect(added.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil, "\(added)")
        // And back.
        let decoded = try JSONDecoder().decode(PlaylistEntry.self, from: try encoder.encode(e))
        #expect(decoded == e)
        let summary = try JSONSerialization.jsonObject(with: encoder.encode(try store.playlists())) as? [[String: Any]]
        #expect(Set(summary?.first?.keys.map { $0 } ?? []) == ["id", "name", "createdAt", "updatedAt", "entryCount", "duration"])
    }
}
