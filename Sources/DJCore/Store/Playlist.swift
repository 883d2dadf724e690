import Foundation

/// A playlist with its entries in order (positions 0 ..< entries.count, dense).
///
/// JSON: `{"id": 1, "name": "Friday", "createdAt": "...", "updatedAt": "...", "entries": [PlaylistEntry]}`.
public struct Playlist: Sendable, Codable, Equatable, Identifiable {
    public var id: Int
    /// Unique (ignoring ASCII case), 1 ... 200 characters, no control characters.
    public var name: String
    @ISO8601Date public var createdAt: Date
    /// Changed by every rename and entry change.
    @ISO8601Date public var updatedAt: Date
    public var entries: [PlaylistEntry]

    /// The entries as a queue for `QueuePlayer`, in order.
    public var queueItems: [QueueItem] { entries.map { $0.track.queueItem(entryID: $0.id) } }
}

/// One place in a playlist. The same library track may appear in several entries.
///
/// JSON: `{"id": 12, "position": 0, "track": LibraryTrack, "addedAt": "..."}`.
public struct PlaylistEntry: Sendable, Codable, Equatable, Identifiable {
    /// Stable across moves; what `moveEntry` / `removeEntry` and the queue player refer to.
    public var id: Int
    /// 0-based.
    public var position: Int
    public var track: LibraryTrack
    @ISO8601Date public var addedAt: Date
}

/// A playlist without its entries, for listings.
///
/// JSON: `{"id": 1, "name": "Friday", "createdAt": "...", "updatedAt": "...", "entryCount": 12,
/// "duration": 3012.5}` (`duration`: the sum of the known track durations, seconds).
public struct PlaylistSummary: Sendable, Codable, Equatable, Identifiable {
    public var id: Int
    public var name: String
    @ISO8601Date public var createdAt: Date
    @ISO8601Date public var updatedAt: Date
    public var entryCount: Int
    public var duration: Double
}

/// What the queue was playing, kept so that a restarted daemon can tell (and resume).
///
/// JSON: `{"playlistID": 1, "index": 3, "entryID": 17, "playing": true, "updatedAt": "..."}`.
public struct QueueState: Sendable, Codable, Equatable {
    public var playlistID: Int
    /// Index of the current entry in the playlist when it was saved.
    public var index: Int
    /// The current entry itself (nil when not known), to find it again after the playlist changed.
    public var entryID: Int?
    /// True while the queue plays; false once it was stopped or finished.
    public var playing: Bool
    @ISO8601Date public var updatedAt: Date

    private enum CodingKeys: String, CodingKey { case playlistID, index, entryID, playing, updatedAt }

    /// Writes every key, an unknown entry as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(playlistID, forKey: .playlistID)
        try c.encode(index, forKey: .index)
        try c.encode(entryID, forKey: .entryID)
        try c.encode(playing, forKey: .playing)
        try c.encode(_updatedAt, forKey: .updatedAt)
    }
}
