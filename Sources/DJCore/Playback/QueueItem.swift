/// One thing to play in a `QueuePlayer`'s queue: a playlist entry and what is known about its track.
///
/// JSON: `{"entryID": 12, "trackID": 3, "path": "/music/a.flac", "title": "a", "analysis": {...} | null}`.
public struct QueueItem: Sendable, Codable, Equatable {
    /// Identifies the entry across playlist edits (`QueuePlayer.update(items:)` matches on it).
    public var entryID: Int
    public var trackID: Int
    public var path: String
    public var title: String
    /// Used for where to start (`musicStart`), where the outgoing fade completes (`musicEnd`) and the
    /// loudness-matching trim (`loudness.gainDB`). Nil: the whole file at trim 0 dB.
    public var analysis: TrackAnalysis?

    public init(entryID: Int, trackID: Int, path: String, title: String, analysis: TrackAnalysis? = nil) {
        self.entryID = entryID
        self.trackID = trackID
        self.path = path
        self.title = title
        self.analysis = analysis
    }

    private enum CodingKeys: String, CodingKey { case entryID, trackID, path, title, analysis }

    /// Writes every key, a missing analysis as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entryID, forKey: .entryID)
        try c.encode(trackID, forKey: .trackID)
        try c.encode(path, forKey: .path)
        try c.encode(title, forKey: .title)
        try c.encode(analysis, forKey: .analysis)
    }
}
