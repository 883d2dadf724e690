import Foundation

/// A `Date` that always encodes as an ISO 8601 UTC string with milliseconds ("2025-03-01T20:15:07.250Z"),
/// whatever date strategy the encoder was given, so the store's JSON is the same from every caller.
/// Decodes that form, the same without fractional seconds, or a number of seconds since 1970.
@propertyWrapper
public struct ISO8601Date: Sendable, Hashable, Codable {
    public var wrappedValue: Date

    public init(wrappedValue: Date) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let seconds = try? c.decode(Double.self) {
            wrappedValue = Date(timeIntervalSince1970: seconds)
            return
        }
        let text = try c.decode(String.self)
        guard let date = ISO8601Date.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an ISO 8601 date")
        }
        wrappedValue = date
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(ISO8601Date.format(wrappedValue))
    }

    /// "2025-03-01T20:15:07.250Z" (rounded to the millisecond).
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, fraction) = ms.quotientAndRemainder(dividingBy: 1000)
        let whole = seconds - (fraction < 0 ? 1 : 0)
        let millis = fraction < 0 ? fraction + 1000 : fraction
        let base = Date(timeIntervalSince1970: Double(whole)).formatted(Date.ISO8601FormatStyle())
        // base ends in "Z": put the milliseconds before it.
        return String(base.dropLast()) + String(format: ".%03lldZ", millis)
    }

    /// Parses what `format` writes (or the same without fractional seconds), to the millisecond.
    public static func parse(_ text: String) -> Date? {
        guard let d = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text)) else { return nil }
        return Date(timeIntervalSince1970: (d.timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}

/// Now, rounded to the millisecond (what the store keeps and what ISO8601Date writes).
func storeNow() -> Date {
    Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
}
