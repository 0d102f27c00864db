/// The grouping key of a count over several paths (or with filters), as one string: it is the
/// key of `CountResult.counts`, so partial results from shards and nodes add up as the
/// single-path ones do. Each value is `=` and its text with `\` and `|` escaped, or `-` for a
/// record without the path; values are joined by `|`.
public enum CompositeKey {
    public static func encode(_ values: [String?]) -> String {
        var text = ""
        for (index, value) in values.enumerated() {
            if index > 0 { text.append("|") }
            guard let value else {
                text.append("-")
                continue
            }
            text.append("=")
            for character in value.unicodeScalars {
                if character == "\\" || character == "|" { text.unicodeScalars.append("\\") }
                text.unicodeScalars.append(character)
            }
        }
        return text
    }

    /// The values of an encoded key; nil if `text` is not one.
    public static func decode(_ text: String) -> [String?]? {
        var values: [String?] = []
        var scalars = text.unicodeScalars.makeIterator()
        while let marker = scalars.next() {
            switch marker {
            case "-":
                values.append(nil)
                guard let separator = scalars.next() else { return values }
                guard separator == "|" else { return nil }
            case "=":
                var value = String.UnicodeScalarView()
                var ended = false
                while let scalar = scalars.next() {
                    if scalar == "\\" {
                        guard let escaped = scalars.next() else { return nil }
                        value.append(escaped)
                    } else if scalar == "|" {
                        ended = true
                        break
                    } else {
                        value.append(scalar)
                    }
                }
                values.append(String(value))
                if !ended { return values }
            default:
                return nil
            }
        }
        return nil
    }
}
