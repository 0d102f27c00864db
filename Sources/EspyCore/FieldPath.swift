/// A nested path into a record, such as `python$version_info$0`: the major Python version.
///
/// Segments are separated by `$` (the original API) or, when the text has no `$`, by dots. A
/// segment made only of digits also indexes arrays, so `version_info$0` reads `[3, 11, ...][0]`;
/// on an object it is an ordinary key.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    public let segments: [String]

    public init(segments: [String]) {
        self.segments = segments
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        guard !text.isEmpty else { throw ParseError(description: "path is empty") }
        let separator: Character = text.contains("$") ? "$" : "."
        let parts = text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains(where: \.isEmpty) else {
            throw ParseError(description: "path '\(text)' has an empty segment")
        }
        self.segments = parts
    }

    /// `$`-joined, the original API's spelling; stable, so it can key stored dimensions.
    public var description: String { segments.joined(separator: "$") }

    /// The array index a segment denotes, when it is a plain non-negative decimal number.
    static func arrayIndex(_ segment: String) -> Int? {
        guard !segment.isEmpty, segment.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
        return Int(segment)
    }
}
