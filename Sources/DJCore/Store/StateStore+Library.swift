import Foundation

/// The library: audio files the store knows, with their header facts and analysis.
extension StateStore {
    /// What a file's header says, read before a transaction so the database is not held during file I/O.
    struct ProbedFile {
        var path: String
        var title: String
        var duration: Double?
        var sampleRate: Int
        var channels: Int
        var format: String
    }

    /// An absolute, normalised path ("." and ".." resolved against the working directory; symbolic links
    /// kept as given, so a file reached through two links is two entries).
    static func normalise(path: String) throws -> String {
        guard !path.isEmpty else { throw DJCoreError.invalidArgument("path must not be empty") }
        guard !path.contains("\0") else { throw DJCoreError.invalidArgument("path \(path.debugDescription) contains a NUL byte") }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Reads the header of `path`; refuses what is not a readable audio file, naming it.
    static func probe(path: String) throws -> ProbedFile {
        let full = try normalise(path: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
            throw DJCoreError.trackLoad(path: full, reason: .unsupported, detail: "is a directory, not an audio file")
        }
        let p = try Track.probe(path: full)
        if let frames = p.frames, frames == 0 {
            throw DJCoreError.trackLoad(path: full, reason: .empty, detail: "the file holds no audio frames")
        }
        guard p.sampleRate > 0, p.channels > 0 else {
            throw DJCoreError.trackLoad(path: full, reason: .unsupported,
                                        detail: "\(p.channels) channels at \(p.sampleRate) Hz is not playable audio")
        }
        let name = (full as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        return ProbedFile(path: full, title: stem.isEmpty ? name : stem,
                          duration: p.frames.map { Double($0) / Double(p.sampleRate) },
                          sampleRate: p.sampleRate, channels: p.channels, format: p.format)
    }

    /// Adds the audio file at `path` (made absolute) to the library, or returns the entry it already has.
    /// - Throws: `trackLoad` naming the file when it is missing, unreadable, not audio or empty;
    ///   `invalidArgument` for an empty path.
    @discardableResult
    public func addTrack(path: String) throws -> LibraryTrack {
        let probed = try StateStore.probe(path: path)
        return try database.transaction { try insertTrack(probed) }
    }

    /// Inserts (or finds) a probed file. Inside a transaction.
    func insertTrack(_ p: ProbedFile) throws -> LibraryTrack {
        if let existing = try fetchTrack(path: p.path, includeAnalysis: true) { return existing }
        let now = SQLValue(storeNow().timeIntervalSince1970)
        try database.execute(
            """
            INSERT INTO library_tracks (path, title, duration, sample_rate, channels, format, added_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(p.path), .text(p.title), SQLValue(p.duration), SQLValue(p.sampleRate), SQLValue(p.channels),
             .text(p.format), now, now])
        let id = Int(database.lastInsertRowID)
        guard let track = try fetchTrack(id: id, includeAnalysis: true) else {
            throw DJCoreError.store("track \(id) vanished right after it was added")
        }
        return track
    }

    /// The library entry with this id, or nil.
    public func track(id: Int, includeAnalysis: Bool = true) throws -> LibraryTrack? {
        try fetchTrack(id: id, includeAnalysis: includeAnalysis)
    }

    /// The library entry for this path (normalised as `addTrack` does), or nil.
    public func track(path: String, includeAnalysis: Bool = true) throws -> LibraryTrack? {
        try fetchTrack(path: try StateStore.normalise(path: path), includeAnalysis: includeAnalysis)
    }

    /// Library entries in the order they were added. `limit` 1 ... 10000, `offset` 0 or more.
    /// `includeAnalysis: false` leaves out the analysis (large: it holds the waveform overview).
    public func tracks(limit: Int = 100, offset: Int = 0, includeAnalysis: Bool = true) throws -> [LibraryTrack] {
        guard (1...10_000).contains(limit) else {
            throw DJCoreError.invalidArgument("limit \(limit) is outside 1 ... 10000")
        }
        guard offset >= 0 else { throw DJCoreError.invalidArgument("offset \(offset) must be 0 or more") }
        return try database.query(
            "SELECT \(trackColumns(includeAnalysis)) FROM library_tracks ORDER BY id LIMIT ? OFFSET ?",
            [SQLValue(limit), SQLValue(offset)]).map(libraryTrack)
    }

    /// How many tracks the library holds.
    public func trackCount() throws -> Int {
        try database.query("SELECT COUNT(*) FROM library_tracks").first?[0].int ?? 0
    }

    /// Stores the analysis of a track (replacing any earlier one). Also takes the content hash from it,
    /// and the duration when the header did not give one.
    /// - Throws: `notFound` for an unknown track.
    @discardableResult
    public func setAnalysis(trackID: Int, _ analysis: TrackAnalysis) throws -> LibraryTrack {
        let json = try encodeJSON(analysis, what: "the analysis of track \(trackID)")
        return try database.transaction {
            try database.execute(
                """
                UPDATE library_tracks SET analysis = ?, content_hash = COALESCE(?, content_hash),
                    duration = COALESCE(duration, ?), updated_at = ? WHERE id = ?
                """,
                [.text(json), SQLValue(analysis.contentHash), SQLValue(analysis.duration),
                 .real(storeNow().timeIntervalSince1970), SQLValue(trackID)])
            guard database.changes > 0, let t = try fetchTrack(id: trackID, includeAnalysis: true) else {
                throw DJCoreError.notFound("track \(trackID) does not exist")
            }
            return t
        }
    }

    /// Sets the title shown for a track (1 ... 500 characters).
    @discardableResult
    public func setTitle(trackID: Int, _ title: String) throws -> LibraryTrack {
        let t = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(t.count) else {
            throw DJCoreError.invalidArgument("title must be 1 ... 500 characters, got \(t.count)")
        }
        return try database.transaction {
            try database.execute("UPDATE library_tracks SET title = ?, updated_at = ? WHERE id = ?",
                                 [.text(t), .real(storeNow().timeIntervalSince1970), SQLValue(trackID)])
            guard database.changes > 0, let track = try fetchTrack(id: trackID, includeAnalysis: true) else {
                throw DJCoreError.notFound("track \(trackID) does not exist")
            }
            return track
        }
    }

    /// Removes a track from the library (not the file from the disk).
    /// - Throws: `notFound` for an unknown track; `conflict` while playlists use it (naming them).
    public func removeTrack(id: Int) throws {
        try database.transaction {
            guard let track = try fetchTrack(id: id, includeAnalysis: false) else {
                throw DJCoreError.notFound("track \(id) does not exist")
            }
            let users = try database.query(
                """
                SELECT p.id, p.name FROM playlists p
                WHERE p.id IN (SELECT playlist_id FROM playlist_entries WHERE track_id = ?) ORDER BY p.id
                """, [SQLValue(id)])
            if !users.isEmpty {
                let names = users.map { "\"\($0["name"].string ?? "")\" (\($0["id"].int ?? 0))" }.joined(separator: ", ")
                throw DJCoreError.conflict(
                    "track \(id) (\(track.title)) is in \(users.count == 1 ? "playlist" : "playlists") \(names); remove it from them first")
            }
            try database.execute("DELETE FROM library_tracks WHERE id = ?", [SQLValue(id)])
        }
    }

    // MARK: Rows

    func trackColumns(_ includeAnalysis: Bool, prefix: String = "") -> String {
        let p = prefix
        let analysis = includeAnalysis ? "\(p)analysis" : "NULL AS analysis"
        return """
            \(p)id, \(p)path, \(p)title, \(p)duration, \(p)sample_rate, \(p)channels, \(p)format, \(p)content_hash, \
            \(analysis), \(p)analysis IS NOT NULL AS analyzed, \(p)added_at, \(p)updated_at
            """
    }

    func fetchTrack(id: Int, includeAnalysis: Bool) throws -> LibraryTrack? {
        try database.query("SELECT \(trackColumns(includeAnalysis)) FROM library_tracks WHERE id = ?",
                           [SQLValue(id)]).first.map(libraryTrack)
    }

    func fetchTrack(path: String, includeAnalysis: Bool) throws -> LibraryTrack? {
        try database.query("SELECT \(trackColumns(includeAnalysis)) FROM library_tracks WHERE path = ?",
                           [.text(path)]).first.map(libraryTrack)
    }

    /// A row with `trackColumns` (column names without prefix) as a LibraryTrack. Analysis JSON that no
    /// longer decodes (an older analyser's layout) reads as "not analysed".
    func libraryTrack(_ row: SQLRow) -> LibraryTrack {
        let analysis = row["analysis"].string.flatMap {
            try? JSONDecoder().decode(TrackAnalysis.self, from: Data($0.utf8))
        }
        return LibraryTrack(
            id: row["id"].int ?? 0, path: row["path"].string ?? "", title: row["title"].string ?? "",
            duration: row["duration"].double, sampleRate: row["sample_rate"].int ?? 0,
            channels: row["channels"].int ?? 0, format: row["format"].string ?? "",
            contentHash: row["content_hash"].string, analyzed: row["analysis"].isNull ? row["analyzed"].int == 1 : analysis != nil, analysis: analysis,
            addedAt: date(row["added_at"]), updatedAt: date(row["updated_at"]))
    }
}
