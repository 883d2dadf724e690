/// What a `QueuePlayer` reports to its owner (for the daemon's WebSocket).
///
/// JSON: `{"type": "trackStarted", "index": 2, "item": QueueItem, "deck": 1, "frame": 1234567}`;
/// `trackEnded` has the same fields (`index` null when the entry was removed meanwhile), `itemSkipped` has
/// `index`, `item` and `error`, `stopped` and `queueFinished` only `frame`.
public enum QueueEvent: Sendable, Equatable, Codable {
    /// The item's deck started playing at engine frame `frame`.
    case trackStarted(index: Int?, item: QueueItem, deck: Int, frame: UInt64)
    /// The item went silent at `frame`: its fade-out completed, it reached its end, or the queue stopped.
    case trackEnded(index: Int?, item: QueueItem, deck: Int, frame: UInt64)
    /// The item could not be loaded and was left out.
    case itemSkipped(index: Int, item: QueueItem, error: String)
    /// `stop` finished fading out at `frame`.
    case stopped(frame: UInt64)
    /// The last item ended at `frame`; the player is idle.
    case queueFinished(frame: UInt64)

    private enum CodingKeys: String, CodingKey { case type, index, item, deck, frame, error }

    public var type: String {
        switch self {
        case .trackStarted: "trackStarted"
        case .trackEnded: "trackEnded"
        case .itemSkipped: "itemSkipped"
        case .stopped: "stopped"
        case .queueFinished: "queueFinished"
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        switch self {
        case let .trackStarted(index, item, deck, frame), let .trackEnded(index, item, deck, frame):
            try c.encode(index, forKey: .index)
            try c.encode(item, forKey: .item)
            try c.encode(deck, forKey: .deck)
            try c.encode(frame, forKey: .frame)
        case let .itemSkipped(index, item, error):
            try c.encode(index, forKey: .index)
            try c.encode(item, forKey: .item)
            try c.encode(error, forKey: .error)
        case let .stopped(frame), let .queueFinished(frame):
            try c.encode(frame, forKey: .frame)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "trackStarted", "trackEnded":
            let index = try c.decodeIfPresent(Int.self, forKey: .index)
            let item = try c.decode(QueueItem.self, forKey: .item)
            let deck = try c.decode(Int.self, forKey: .deck)
            let frame = try c.decode(UInt64.self, forKey: .frame)
            self = type == "trackStarted" ? .trackStarted(index: index, item: item, deck: deck, frame: frame)
                : .trackEnded(index: index, item: item, deck: deck, frame: frame)
        case "itemSkipped":
            self = .itemSkipped(index: try c.decode(Int.self, forKey: .index), item: try c.decode(QueueItem.self, forKey: .item),
                                error: try c.decode(String.self, forKey: .error))
        case "stopped": self = .stopped(frame: try c.decode(UInt64.self, forKey: .frame))
        case "queueFinished": self = .queueFinished(frame: try c.decode(UInt64.self, forKey: .frame))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown queue event type '\(type)'")
        }
    }
}
