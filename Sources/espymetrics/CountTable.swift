import Foundation

/// Renders a `/v1/count` answer for people (aligned table) or spreadsheets (CSV), with each
/// value's share of the records considered and a total row.
struct CountTable {
    let groupedBy: String?
    let rows: [(value: String, count: Int)]
    let missing: Int
    let total: Int

    static let missingLabel = "(missing)"
    static let totalLabel = "total"

    init(answer: [String: Any]) {
        groupedBy = answer["grouped_by"] as? String
        let counts = (answer["counts"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        rows = counts.map { (value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
        missing = answer["error_count"] as? Int ?? 0
        total = answer["record_count"] as? Int ?? 0
    }

    /// Hundredths of a percent of the total, rounded; nil when there is nothing to divide by.
    private func hundredths(_ count: Int) -> Int? {
        guard total > 0 else { return nil }
        return (count * 10_000 + total / 2) / total
    }

    /// "66.67": the digits both forms show.
    private func percentDigits(_ count: Int) -> String? {
        guard let hundredths = hundredths(count) else { return nil }
        return "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2))"
    }

    /// One row per value, then (missing) and total; `isSummary` marks the two computed rows.
    private var lines: [(label: String, count: Int, isSummary: Bool)] {
        var lines = rows.map { (label: CountTable.displayed($0.value), count: $0.count, isSummary: false) }
        if missing > 0 { lines.append((CountTable.missingLabel, missing, true)) }
        lines.append((CountTable.totalLabel, total, true))
        return lines
    }

    /// A value as the first column shows it: as it is, unless it could be mistaken for a summary
    /// row, would be invisible (empty), or would break the layout (a line break or another
    /// control character); those are shown as JSON strings, and so is any value starting with a
    /// double quote, so that a quoted form always means exactly one value.
    static func displayed(_ value: String) -> String {
        let ambiguous = value == missingLabel || value == totalLabel || value.isEmpty || value.hasPrefix("\"")
            || value.unicodeScalars.contains { $0.properties.generalCategory == .control
                || $0.properties.generalCategory == .lineSeparator || $0.properties.generalCategory == .paragraphSeparator }
        return ambiguous ? jsonString(value) : value
    }

    private static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let category = scalar.properties.generalCategory
                if category == .control || category == .lineSeparator || category == .paragraphSeparator {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    func table() -> String {
        guard let groupedBy else { return "records: \(total)\n" }
        let header = (groupedBy, "count", "percent")
        let all = [header] + lines.map { ($0.label, String($0.count), percentDigits($0.count).map { $0 + "%" } ?? "-") }
        let width0 = all.map(\.0.count).max() ?? 0
        let width1 = all.map(\.1.count).max() ?? 0
        let width2 = all.map(\.2.count).max() ?? 0
        return all.map { row in
            row.0.rightPadded(to: width0) + "  " + row.1.leftPadded(to: width1, with: " ") + "  "
                + row.2.leftPadded(to: width2, with: " ")
        }.joined(separator: "\n") + "\n"
    }

    /// Percent is a plain number (empty when there are no records), so spreadsheets can sum it.
    func csv() -> String {
        guard let groupedBy else { return "records\n\(total)\n" }
        let rows = [[CountTable.csvField(groupedBy), "count", "percent"]] + lines.map { line in
            [line.isSummary ? line.label : CountTable.csvField(line.label), String(line.count), percentDigits(line.count) ?? ""]
        }
        return rows.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// A text cell: a value a spreadsheet would run as a formula gets OWASP's `'` prefix
    /// (numbers excepted: `-3` is a value, not a formula), then RFC 4180 quoting if needed.
    static func csvField(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+-@\t\r".contains(first), !isPlainNumber(text) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A JSON number (how counts key numeric values): `-3`, `2.5`, `-1e3`.
    private static func isPlainNumber(_ text: String) -> Bool {
        text.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"#, options: .regularExpression) != nil
    }
}
