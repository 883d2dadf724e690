import Foundation

/// The daemon's lasting state in one SQLite file: the library of audio files, playlists, settings and
/// what the queue was playing.
///
/// `<directory>/djcore.sqlite`, opened through `SQLiteDatabase` (WAL, `synchronous=FULL`: a call that
/// returned has reached the disk and survives `kill -9`). Every mutation is one transaction, so a crash
/// leaves either all of it or none. The schema is versioned with `PRAGMA user_version` (ours alone; the
/// task layer keeps its `team_*` tables in the same file with its own bookkeeping, through `database`).
///
/// ```swift
/// let store = try StateStore(directory: StateStore.defaultDirectory())
/// let list = try store.createPlaylist(name: "Friday")
/// try store.addEntry(playlistID: list.id, path: "/music/opener.flac")
/// let player = try QueuePlayer(engine: engine) { item in try Track.load(path: item.path) }
/// try player.start(items: try store.playlist(id: list.id).queueItems)
/// ```
///
/// Errors: `invalidArgument` (names the field and the value), `notFound` ("playlist 7 does not exist"),
/// `conflict` (a duplicate name, a track still in playlists), `trackLoad` (a file that is missing or not
/// audio), `store` (SQLite itself failed).
///
/// Thread: any. Calls are serialised on the database connection; each read that needs several statements
/// runs in one transaction, so it sees one consistent state.
public final class StateStore: Sendable {
    public let directory: String
    /// The shared connection (the task layer keeps its own tables in it).
    public let database: SQLiteDatabase

    /// The file's name inside `directory`.
    public static let fileName = "djcore.sqlite"

    /// Opens (creating the directory and the file if needed) `<directory>/djcore.sqlite` and brings its
    /// schema up to date.
    /// - Throws: `store` when the directory or the database cannot be created or opened, or when the file
    ///   was written by a newer version.
    public init(directory: String) throws {
        guard !directory.isEmpty else { throw DJCoreError.invalidArgument("state directory must not be empty") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DJCoreError.store("cannot create the state directory \(directory): \(error.localizedDescription)")
        }
        self.directory = directory
        database = try SQLiteDatabase(path: (directory as NSString).appendingPathComponent(StateStore.fileName))
        try database.migrate(StateStore.migrations)
    }

    /// `$XDG_STATE_HOME/djcore` when XDG_STATE_HOME is an absolute path, else `~/.local/state/djcore`.
    public static func defaultDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/djcore" }
        let home = env["HOME"] ?? NSHomeDirectory()
        return home + "/.local/state/djcore"
    }

    /// Schema versions, oldest first. Append; never edit a released step.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE library_tracks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                path TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL,
                duration REAL,
                sample_rate INTEGER NOT NULL,
                channels INTEGER NOT NULL,
                format TEXT NOT NULL,
                content_hash TEXT,
                analysis TEXT,
                added_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )
            """,
            "CREATE INDEX library_tracks_by_hash ON library_tracks(content_hash)",
            """
            CREATE TABLE playlists (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE playlist_entries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                playlist_id INTEGER NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
                track_id INTEGER NOT NULL REFERENCES library_tracks(id),
                position INTEGER NOT NULL CHECK (position >= 0),
                added_at REAL NOT NULL
            )
            """,
            "CREATE INDEX playlist_entries_by_playlist ON playlist_entries(playlist_id, position)",
            "CREATE INDEX playlist_entries_by_track ON playlist_entries(track_id)",
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
            """
            CREATE TABLE queue_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                playlist_id INTEGER NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
                entry_index INTEGER NOT NULL CHECK (entry_index >= 0),
                entry_id INTEGER,
                playing INTEGER NOT NULL,
                updated_at REAL NOT NULL
            )
            """,
        ],
    ]

    // MARK: Settings

    /// The value stored under `key`, or nil.
    public func setting(_ key: String) throws -> JSONValue? {
        guard let row = try database.query("SELECT value FROM settings WHERE key = ?", [.text(key)]).first,
              let text = row["value"].string else { return nil }
        return try decodeSetting(key, text)
    }

    /// Stores `value` under `key` (1 ... 200 characters), replacing what was there.
    public func setSetting(_ key: String, _ value: JSONValue) throws {
        try checkSettingKey(key)
        let text = try encodeJSON(value, what: "setting \(key)")
        try database.transaction {
            try database.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [.text(key), .text(text), .real(storeNow().timeIntervalSince1970)])
        }
    }

    /// Removes `key`; returns whether it was there.
    @discardableResult
    public func removeSetting(_ key: String) throws -> Bool {
        try database.transaction {
            try database.execute("DELETE FROM settings WHERE key = ?", [.text(key)])
            return database.changes > 0
        }
    }

    /// Every setting.
    public func settings() throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for row in try database.query("SELECT key, value FROM settings ORDER BY key") {
            guard let key = row["key"].string, let text = row["value"].string else { continue }
            out[key] = try decodeSetting(key, text)
        }
        return out
    }

    private func checkSettingKey(_ key: String) throws {
        guard (1...200).contains(key.count) else {
            throw DJCoreError.invalidArgument("setting key must be 1 ... 200 characters, got \(key.count) (\"\(key.prefix(40))\")")
        }
    }

    private func decodeSetting(_ key: String, _ text: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw DJCoreError.store("setting \(key) holds damaged JSON: \(text.prefix(80))")
        }
    }

    // MARK: Queue state

    /// What the queue was playing when last saved, or nil (never saved, cleared, or its playlist deleted).
    public func queueState() throws -> QueueState? {
        guard let row = try database.query(
            "SELECT playlist_id, entry_index, entry_id, playing, updated_at FROM queue_state WHERE id = 1").first
        else { return nil }
        return QueueState(playlistID: row["playlist_id"].int ?? 0, index: row["entry_index"].int ?? 0,
                          entryID: row["entry_id"].int, playing: row["playing"].int == 1,
                          updatedAt: date(row["updated_at"]))
    }

    /// Saves what the queue plays: the playlist, the index of the current entry and (if known) that entry.
    /// - Throws: `notFound` for an unknown playlist, `invalidArgument` for a negative index.
    public func setQueueState(playlistID: Int, index: Int, entryID: Int? = nil, playing: Bool = true) throws {
        guard index >= 0 else { throw DJCoreError.invalidArgument("queue index \(index) must be 0 or more") }
        try database.transaction {
            try requirePlaylist(playlistID)
            try database.execute(
                """
                INSERT INTO queue_state (id, playlist_id, entry_index, entry_id, playing, updated_at)
                VALUES (1, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET playlist_id = excluded.playlist_id, entry_index = excluded.entry_index,
                    entry_id = excluded.entry_id, playing = excluded.playing, updated_at = excluded.updated_at
                """,
                [SQLValue(playlistID), SQLValue(index), SQLValue(entryID), SQLValue(playing),
                 .real(storeNow().timeIntervalSince1970)])
        }
    }

    /// Forgets the queue state.
    public func clearQueueState() throws {
        try database.transaction { try database.execute("DELETE FROM queue_state") }
    }

    // MARK: Helpers shared by the extensions

    func date(_ v: SQLValue) -> Date { Date(timeIntervalSince1970: v.double ?? 0) }

    func encodeJSON<T: Encodable>(_ value: T, what: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw DJCoreError.invalidArgument("\(what) cannot be stored as JSON: \(error)")
        }
    }

    /// Throws `notFound` unless the playlist exists. Use inside a transaction.
    func requirePlaylist(_ id: Int) throws {
        guard try !database.query("SELECT 1 FROM playlists WHERE id = ?", [SQLValue(id)]).isEmpty else {
            throw DJCoreError.notFound("playlist \(id) does not exist")
        }
    }
}
