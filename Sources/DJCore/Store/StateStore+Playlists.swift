import Foundation

/// Playlists: named, ordered lists of library tracks. Positions are 0-based and stay dense (0 ..< n)
/// after every change; entry ids stay the same when entries move.
extension StateStore {
    /// Creates an empty playlist.
    /// - Throws: `invalidArgument` for an empty, too long or control-character name; `conflict` when
    ///   another playlist has that name (names are compared ignoring ASCII case).
    @discardableResult
    public func createPlaylist(name: String) throws -> Playlist {
        let name = try StateStore.checkPlaylistName(name)
        return try database.transaction {
            try requireFreeName(name, except: nil)
            let now = SQLValue(storeNow().timeIntervalSince1970)
            try database.execute("INSERT INTO playlists (name, created_at, updated_at) VALUES (?, ?, ?)",
                                 [.text(name), now, now])
            return try fetchPlaylist(Int(database.lastInsertRowID), includeAnalysis: true)
        }
    }

    /// Every playlist (without entries), by name.
    public func playlists() throws -> [PlaylistSummary] {
        try database.query(
            """
            SELECT p.id, p.name, p.created_at, p.updated_at, COUNT(e.id) AS entry_count,
                   COALESCE(SUM(t.duration), 0) AS duration
            FROM playlists p
            LEFT JOIN playlist_entries e ON e.playlist_id = p.id
            LEFT JOIN library_tracks t ON t.id = e.track_id
            GROUP BY p.id ORDER BY p.name COLLATE NOCASE, p.id
            """).map { row in
            PlaylistSummary(id: row["id"].int ?? 0, name: row["name"].string ?? "", createdAt: date(row["created_at"]),
                            updatedAt: date(row["updated_at"]), entryCount: row["entry_count"].int ?? 0,
                            duration: row["duration"].double ?? 0)
        }
    }

    /// A playlist with its entries in order.
    /// - Throws: `notFound` for an unknown id.
    public func playlist(id: Int, includeAnalysis: Bool = true) throws -> Playlist {
        try database.transaction { try fetchPlaylist(id, includeAnalysis: includeAnalysis) }
    }

    /// The playlist with this name (ignoring ASCII case), or nil.
    public func playlist(named name: String, includeAnalysis: Bool = true) throws -> Playlist? {
        try database.transaction {
            guard let id = try database.query("SELECT id FROM playlists WHERE name = ?", [.text(name)]).first?["id"].int
            else { return nil }
            return try fetchPlaylist(id, includeAnalysis: includeAnalysis)
        }
    }

    /// Renames a playlist (same rules as `createPlaylist`).
    @discardableResult
    public func renamePlaylist(id: Int, to name: String) throws -> Playlist {
        let name = try StateStore.checkPlaylistName(name)
        return try database.transaction {
            try requirePlaylist(id)
            try requireFreeName(name, except: id)
            try database.execute("UPDATE playlists SET name = ?, updated_at = ? WHERE id = ?",
                                 [.text(name), .real(storeNow().timeIntervalSince1970), SQLValue(id)])
            return try fetchPlaylist(id, includeAnalysis: true)
        }
    }

    /// Deletes a playlist and its entries (the tracks stay in the library). A saved queue state that
    /// points at it is cleared.
    /// - Throws: `notFound` for an unknown id.
    public func deletePlaylist(id: Int) throws {
        try database.transaction {
            try requirePlaylist(id)
            try database.execute("DELETE FROM playlists WHERE id = ?", [SQLValue(id)])
        }
    }

    /// Adds the file at `path` (to the library too, if it is not there yet) at `position` (0 ... count;
    /// nil appends). Returns the new entry.
    /// - Throws: `trackLoad` naming a missing or non-audio file; `notFound` for an unknown playlist;
    ///   `invalidArgument` naming the allowed range for a position outside it.
    @discardableResult
    public func addEntry(playlistID: Int, path: String, at position: Int? = nil) throws -> PlaylistEntry {
        let probed = try StateStore.probe(path: path)
        return try database.transaction {
            try requirePlaylist(playlistID)
            try checkInsertPosition(position, playlistID: playlistID)
            let track = try insertTrack(probed)
            return try insertEntry(playlistID: playlistID, trackID: track.id, at: position)
        }
    }

    /// Adds a library track at `position` (0 ... count; nil appends). Returns the new entry.
    /// - Throws: `notFound` for an unknown playlist or track; `invalidArgument` for a position out of range.
    @discardableResult
    public func addEntry(playlistID: Int, trackID: Int, at position: Int? = nil) throws -> PlaylistEntry {
        try database.transaction {
            try requirePlaylist(playlistID)
            guard try !database.query("SELECT 1 FROM library_tracks WHERE id = ?", [SQLValue(trackID)]).isEmpty else {
                throw DJCoreError.notFound("track \(trackID) does not exist")
            }
            try checkInsertPosition(position, playlistID: playlistID)
            return try insertEntry(playlistID: playlistID, trackID: trackID, at: position)
        }
    }

    /// Moves an entry to `position` (0 ... count - 1); the others close up around it. Returns the playlist.
    /// - Throws: `notFound` for an unknown playlist or an entry not in it; `invalidArgument` for a
    ///   position out of range.
    @discardableResult
    public func moveEntry(playlistID: Int, entryID: Int, to position: Int) throws -> Playlist {
        try database.transaction {
            try requirePlaylist(playlistID)
            let from = try entryPosition(playlistID: playlistID, entryID: entryID)
            let count = try entryCount(playlistID)
            guard (0..<count).contains(position) else {
                throw DJCoreError.invalidArgument(
                    "position \(position) is outside 0 ... \(count - 1) (playlist \(playlistID) has \(count) entries)")
            }
            if position > from {
                try database.execute(
                    "UPDATE playlist_entries SET position = position - 1 WHERE playlist_id = ? AND position > ? AND position <= ?",
                    [SQLValue(playlistID), SQLValue(from), SQLValue(position)])
            } else if position < from {
                try database.execute(
                    "UPDATE playlist_entries SET position = position + 1 WHERE playlist_id = ? AND position >= ? AND position < ?",
                    [SQLValue(playlistID), SQLValue(position), SQLValue(from)])
            }
            try database.execute("UPDATE playlist_entries SET position = ? WHERE id = ?", [SQLValue(position), SQLValue(entryID)])
            try touch(playlistID)
            return try fetchPlaylist(playlistID, includeAnalysis: true)
        }
    }

    /// Removes an entry (the track stays in the library); the ones after it move up. Returns the playlist.
    /// - Throws: `notFound` for an unknown playlist or an entry not in it.
    @discardableResult
    public func removeEntry(playlistID: Int, entryID: Int) throws -> Playlist {
        try database.transaction {
            try requirePlaylist(playlistID)
            let from = try entryPosition(playlistID: playlistID, entryID: entryID)
            try database.execute("DELETE FROM playlist_entries WHERE id = ?", [SQLValue(entryID)])
            try database.execute(
                "UPDATE playlist_entries SET position = position - 1 WHERE playlist_id = ? AND position > ?",
                [SQLValue(playlistID), SQLValue(from)])
            try touch(playlistID)
            return try fetchPlaylist(playlistID, includeAnalysis: true)
        }
    }

    // MARK: Inside transactions

    /// Trimmed; 1 ... 200 characters; no control characters.
    static func checkPlaylistName(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else {
            throw DJCoreError.invalidArgument(
                "playlist name must be 1 ... 200 characters (after trimming spaces), got \(name.count)")
        }
        guard !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw DJCoreError.invalidArgument("playlist name \(name.debugDescription) contains a control character")
        }
        return name
    }

    func requireFreeName(_ name: String, except id: Int?) throws {
        if let other = try database.query("SELECT id, name FROM playlists WHERE name = ?", [.text(name)]).first,
           other["id"].int != id {
            throw DJCoreError.conflict(
                "a playlist named \"\(other["name"].string ?? name)\" already exists (playlist \(other["id"].int ?? 0))")
        }
    }

    func entryCount(_ playlistID: Int) throws -> Int {
        try database.query("SELECT COUNT(*) FROM playlist_entries WHERE playlist_id = ?", [SQLValue(playlistID)])
            .first?[0].int ?? 0
    }

    func checkInsertPosition(_ position: Int?, playlistID: Int) throws {
        guard let position else { return }
        let count = try entryCount(playlistID)
        guard (0...count).contains(position) else {
            throw DJCoreError.invalidArgument(
                "position \(position) is outside 0 ... \(count) (playlist \(playlistID) has \(count) entries)")
        }
    }

    func entryPosition(playlistID: Int, entryID: Int) throws -> Int {
        guard let p = try database.query("SELECT position FROM playlist_entries WHERE id = ? AND playlist_id = ?",
                                         [SQLValue(entryID), SQLValue(playlistID)]).first?["position"].int else {
            throw DJCoreError.notFound("entry \(entryID) is not in playlist \(playlistID)")
        }
        return p
    }

    func insertEntry(playlistID: Int, trackID: Int, at position: Int?) throws -> PlaylistEntry {
        let count = try entryCount(playlistID)
        let at = position ?? count
        try database.execute(
            "UPDATE playlist_entries SET position = position + 1 WHERE playlist_id = ? AND position >= ?",
            [SQLValue(playlistID), SQLValue(at)])
        try database.execute(
            "INSERT INTO playlist_entries (playlist_id, track_id, position, added_at) VALUES (?, ?, ?, ?)",
            [SQLValue(playlistID), SQLValue(trackID), SQLValue(at), .real(storeNow().timeIntervalSince1970)])
        let id = Int(database.lastInsertRowID)
        try touch(playlistID)
        guard let entry = try fetchEntries(playlistID, includeAnalysis: true).first(where: { $0.id == id }) else {
            throw DJCoreError.store("entry \(id) vanished right after it was added")
        }
        return entry
    }

    func touch(_ playlistID: Int) throws {
        try database.execute("UPDATE playlists SET updated_at = ? WHERE id = ?",
                             [.real(storeNow().timeIntervalSince1970), SQLValue(playlistID)])
    }

    func fetchPlaylist(_ id: Int, includeAnalysis: Bool) throws -> Playlist {
        guard let row = try database.query("SELECT id, name, created_at, updated_at FROM playlists WHERE id = ?",
                                           [SQLValue(id)]).first else {
            throw DJCoreError.notFound("playlist \(id) does not exist")
        }
        return Playlist(id: id, name: row["name"].string ?? "", createdAt: date(row["created_at"]),
                        updatedAt: date(row["updated_at"]), entries: try fetchEntries(id, includeAnalysis: includeAnalysis))
    }

    func fetchEntries(_ playlistID: Int, includeAnalysis: Bool) throws -> [PlaylistEntry] {
        try database.query(
            """
            SELECT e.id AS entry_id, e.position AS entry_position, e.added_at AS entry_added_at,
                   \(trackColumns(includeAnalysis, prefix: "t."))
            FROM playlist_entries e JOIN library_tracks t ON t.id = e.track_id
            WHERE e.playlist_id = ? ORDER BY e.position, e.id
            """, [SQLValue(playlistID)]).map { row in
            PlaylistEntry(id: row["entry_id"].int ?? 0, position: row["entry_position"].int ?? 0,
                          track: libraryTrack(row), addedAt: date(row["entry_added_at"]))
        }
    }
}
