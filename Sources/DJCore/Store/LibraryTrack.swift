import Foundation

/// An audio file in the library, as the state store keeps it.
///
/// JSON (camelCase, stable): `{"id": 3, "path": "/music/a.flac", "title": "a", "duration": 241.5,
/// "sampleRate": 44100, "channels": 2, "format": "FLAC", "contentHash": null, "analyzed": true,
/// "analysis": {...} | null, "addedAt": "2025-03-01T20:15:07.250Z", "updatedAt": "..."}`.
/// `analysis` is null both when the track has not been analysed and when it was left out of a listing
/// (`includeAnalysis: false`); `analyzed` tells the two apart.
public struct LibraryTrack: Sendable, Codable, Equatable, Identifiable {
    public var id: Int
    /// Absolute and normalised (no "." or ".." parts); unique in the library.
    public var path: String
    /// The file name without its extension, unless set otherwise (`StateStore.setTitle`).
    public var title: String
    /// Seconds; nil when the file's header does not say and no analysis has told.
    public var duration: Double?
    /// The file's own rate and channel count (before any conversion for the engine).
    public var sampleRate: Int
    public var channels: Int
    /// The container and encoding as libsndfile names them ("WAV (Microsoft) / 32 bit float").
    public var format: String
    /// The content hash from analysis (the analysis cache's key), when known.
    public var contentHash: String?
    public var analyzed: Bool
    public var analysis: TrackAnalysis?
    @ISO8601Date public var addedAt: Date
    @ISO8601Date public var updatedAt: Date

    private enum CodingKeys: String, CodingKey {
        case id, path, title, duration, sampleRate, channels, format, contentHash, analyzed, analysis, addedAt, updatedAt
    }

    /// Writes every key, unknown values as null (the synthesized encoder would leave them out).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(path, forKey: .path)
        try c.encode(title, forKey: .title)
        try c.encode(duration, forKey: .duration)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(channels, forKey: .channels)
        try c.encode(format, forKey: .format)
        try c.encode(contentHash, forKey: .contentHash)
        try c.encode(analyzed, forKey: .analyzed)
        try c.encode(analysis, forKey: .analysis)
        try c.encode(_addedAt, forKey: .addedAt)
        try c.encode(_updatedAt, forKey: .updatedAt)
    }

    /// What the queue player needs to play this track in a playlist entry. The waveform overview is left
    /// out: playback does not use it, and it would make every status message large.
    public func queueItem(entryID: Int) -> QueueItem {
        var a = analysis
        a?.waveform = nil
        return QueueItem(entryID: entryID, trackID: id, path: path, title: title, analysis: a)
    }
}
