/// One of the 24 major and minor keys, with the names DJs use: "A minor", Camelot "8A", Open Key "1m".
public struct MusicalKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Mode: String, Sendable, Codable { case major, minor }

    /// Pitch class of the tonic, 0 = C ... 11 = B.
    public let tonic: Int
    public let mode: Mode

    /// The spelling most DJ software shows: C#, Eb, F#, Ab, Bb.
    static let names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]

    public init(tonic: Int, mode: Mode) {
        self.tonic = ((tonic % 12) + 12) % 12
        self.mode = mode
    }

    /// CDSP's numbering: 0-11 major C..B, 12-23 minor C..B.
    init?(cdspIndex: Int32) {
        guard cdspIndex >= 0 && cdspIndex < 24 else { return nil }
        self.init(tonic: Int(cdspIndex % 12), mode: cdspIndex < 12 ? .major : .minor)
    }

    /// Parses "A minor", "F# major", "Ebm", "Am", "C", and Camelot ("8A") or Open Key ("1m") codes.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let k = MusicalKey.fromWheel(t) { self = k; return }
        var rest = Substring(t)
        guard let letter = rest.first, let base = ["C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11][String(letter).uppercased()]
        else { return nil }
        rest = rest.dropFirst()
        var pc = base
        if rest.first == "#" || rest.first == "♯" { pc += 1; rest = rest.dropFirst() }
        else if rest.first == "b" || rest.first == "♭" { pc -= 1; rest = rest.dropFirst() }
        let m = rest.trimmingCharacters(in: .whitespaces).lowercased()
        switch m {
        case "", "maj", "major": self.init(tonic: pc, mode: .major)
        case "m", "min", "minor": self.init(tonic: pc, mode: .minor)
        default: return nil
        }
    }

    public var name: String { "\(MusicalKey.names[tonic]) \(mode.rawValue)" }
    public var description: String { name }

    /// Position on the circle of fifths of the key (for majors) or of its relative major (for minors),
    /// 1-12 with C major / A minor at 8 on the Camelot wheel.
    private var camelotNumber: Int {
        let major = mode == .major ? tonic : (tonic + 3) % 12
        return (major * 7 + 7) % 12 + 1
    }

    /// Camelot code: "8A" for A minor, "8B" for C major.
    public var camelot: String { "\(camelotNumber)\(mode == .minor ? "A" : "B")" }

    /// Open Key code: "1m" for A minor, "1d" for C major.
    public var openKey: String { "\((camelotNumber + 4) % 12 + 1)\(mode == .minor ? "m" : "d")" }

    private static func fromWheel(_ t: String) -> MusicalKey? {
        guard let last = t.last, let number = Int(t.dropLast()), (1...12).contains(number) else { return nil }
        let camelot: Int
        let mode: Mode
        switch last {
        case "A", "a": camelot = number; mode = .minor
        case "B", "b": camelot = number; mode = .major
        case "m": camelot = (number + 6) % 12 + 1; mode = .minor
        case "d": camelot = (number + 6) % 12 + 1; mode = .major
        default: return nil
        }
        // camelot = (major * 7 + 7) % 12 + 1  =>  major = (camelot - 8) * 7 mod 12 (7 is its own inverse mod 12).
        let major = (((camelot - 8) * 7) % 12 + 12) % 12
        return MusicalKey(tonic: mode == .major ? major : major + 9, mode: mode)
    }
}
