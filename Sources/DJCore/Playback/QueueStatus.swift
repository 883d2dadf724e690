/// What a `QueuePlayer` is doing, for `/api/dj/status`.
///
/// JSON: `{"state": "playing", "index": 2, "current": QueueItem, "next": QueueItem | null, "deck": 1,
/// "position": 63.2, "duration": 241.5, "startedAtFrame": 1234567, "errors": ["..."]}`.
public struct QueueStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Nothing started, stopped, or the list has finished.
        case idle
        /// Started, but nothing sounds yet: the first track (or a late next one) is being decoded.
        case loading
        /// A track is playing (possibly crossfading into the next).
        case playing
        /// `stop` is fading out.
        case stopping
    }

    public var state: State
    /// Index of `current` in the queue's items (nil when idle, or when an update removed its entry).
    public var index: Int?
    /// The most recently started item (during a crossfade, the incoming one).
    public var current: QueueItem?
    /// The item that follows `current` in the list, if any.
    public var next: QueueItem?
    /// The deck `current` plays on.
    public var deck: Int?
    /// Seconds into `current`'s file, and its length in seconds.
    public var position: Double?
    public var duration: Double?
    /// The engine frame at which `current` started.
    public var startedAtFrame: UInt64?
    /// One line per item that was skipped because it could not be loaded, oldest first (the last 50).
    public var errors: [String]

    public init(state: State, index: Int? = nil, current: QueueItem? = nil, next: QueueItem? = nil, deck: Int? = nil,
                position: Double? = nil, duration: Double? = nil, startedAtFrame: UInt64? = nil, errors: [String] = []) {
        self.state = state
        self.index = index
        self.current = current
        self.next = next
        self.deck = deck
        self.position = position
        self.duration = duration
        self.startedAtFrame = startedAtFrame
        self.errors = errors
    }

    private enum CodingKeys: String, CodingKey {
        case state, index, current, next, deck, position, duration, startedAtFrame, errors
    }

    /// Writes every key, what does not apply as null (the synthesized encoder would leave them out).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(index, forKey: .index)
        try c.encode(current, forKey: .current)
        try c.encode(next, forKey: .next)
        try c.encode(deck, forKey: .deck)
        try c.encode(position, forKey: .position)
        try c.encode(duration, forKey: .duration)
        try c.encode(startedAtFrame, forKey: .startedAtFrame)
        try c.encode(errors, forKey: .errors)
    }
}
