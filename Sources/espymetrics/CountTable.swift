import Foundation

/// Renders a `/v1/count` answer for people (aligned table, Markdown) or spreadsheets (CSV),
/// with each row's share of the records counted and a total row.
struct CountTable {
    /// The grouped paths, one column each (after `bucket`, with buckets); empty without a group-by.
    let columns: [String]
    /// One value per column; the node's share in hundredths of a percent, when it gave one;
    /// whether the row is an `(other)` row.
    let rows: [(values: [String], count: Int, hundredths: Int?, isOther: Bool)]
    /// With `--distinct`: each row's distinct values, in `rows` order.
    let distinct: [Int?]?
    let missing: Int
    let total: Int
    /// Read from `rows`, where "(missing)" stands for records without the path.
    let isFromRows: Bool

    static let missingLabel = "(missing)"
    static let otherLabel = "(other)"
    static let totalLabel = "total"

    /// One path without `top` or `order` reads the seed's `counts` and `error_count`, where a real
    /// value "(missing)" stays apart from records without the path; anything else reads `rows`,
    /// in the node's order, where `(missing)` in a column means records without that path.
    init(answer: [String: Any], paths: [String], fromRows: Bool) {
        total = answer["total"] as? Int ?? answer["record_count"] as? Int ?? 0
        let answerRows = answer["rows"] as? [[String: Any]] ?? []
        let bucketed = answerRows.contains { $0["bucket"] != nil }
        columns = (bucketed ? ["bucket"] : []) + paths
        isFromRows = fromRows || paths.count > 1 || bucketed || answer["distinct_of"] != nil
        guard isFromRows else {
            let counts = (answer["counts"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
            rows = counts.map { (values: [$0.key], count: $0.value, hundredths: nil, isOther: false) }
                .sorted { $0.count != $1.count ? $0.count > $1.count : $0.values[0] < $1.values[0] }
            missing = answer["error_count"] as? Int ?? 0
            distinct = nil
            return
        }
        distinct = answer["distinct_of"] == nil ? nil : answerRows.map { $0["distinct"] as? Int }
        rows = answerRows.map { row in
            let count = row["count"] as? Int ?? 0
            let hundredths = (row["percent"] as? NSNumber).map { Int(($0.doubleValue * 100).rounded()) }
            let bucket = bucketed ? [row["bucket"] as? String ?? ""] : []
            guard let key = row["key"] as? [String: Any] else {
                let label = paths.isEmpty ? [] : [CountTable.otherLabel] + Array(repeating: "", count: paths.count - 1)
                return (bucket + label, count, hundredths, true)
            }
            return (bucket + paths.map { key[$0] as? String ?? CountTable.missingLabel }, count, hundredths, false)
        }
        missing = 0
    }

    /// Hundredths of a percent of the total, rounded; nil when there is nothing to divide by.
    private func hundredths(_ count: Int) -> Int? {
        guard total > 0 else { return nil }
        return (count * 10_000 + total / 2) / total
    }

    /// "66.67": the digits both forms show.
    private func percentDigits(_ count: Int) -> String? {
        hundredths(count).map(CountTable.percentText)
    }

    private static func percentText(_ hundredths: Int) -> String {
        "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2))"
    }

    /// One row per value, then (missing) and total; `isSummary` marks the computed rows (and the
    /// node's `(other)` rows), whose labels are shown as they are.
    private var lines: [(labels: [String], count: Int, percent: String?, extra: [String], isSummary: Bool)] {
        let label = { (value: String) in self.isFromRows && value == CountTable.missingLabel ? value : CountTable.displayed(value) }
        var lines = rows.enumerated().map { index, row in
            (labels: row.isOther ? row.values : row.values.map(label), count: row.count,
             percent: row.hundredths.map(CountTable.percentText) ?? percentDigits(row.count),
             extra: distinct.map { [$0[index].map(String.init) ?? ""] } ?? [], isSummary: row.isOther)
        }
        let blank = Array(repeating: "", count: max(columns.count - 1, 0))
        let noExtra = distinct == nil ? [] : [""]
        if missing > 0 { lines.append(([CountTable.missingLabel] + blank, missing, percentDigits(missing), noExtra, true)) }
        lines.append(([CountTable.totalLabel] + blank, total, percentDigits(total), noExtra, true))
        return lines
    }

    private var extraColumns: [String] { distinct == nil ? [] : ["distinct"] }

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
        guard !columns.isEmpty else { return "records: \(total)\n" }
        let all = [columns + ["count", "percent"] + extraColumns]
            + lines.map { $0.labels + [String($0.count), $0.percent.map { $0 + "%" } ?? "-"] + $0.extra }
        let widths = (0..<all[0].count).map { column in all.map { $0[column].count }.max() ?? 0 }
        let labelColumns = columns.count
        return all.map { row in
            row.enumerated().map { column, text in
                column < labelColumns ? text.rightPadded(to: widths[column]) : text.leftPadded(to: widths[column], with: " ")
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// Percent is a plain number (empty when there are no records), so spreadsheets can sum it.
    func csv() -> String {
        guard !columns.isEmpty else { return "records\n\(total)\n" }
        let rows = [columns.map(CountTable.csvField) + ["count", "percent"] + extraColumns] + lines.map { line in
            (line.isSummary ? line.labels : line.labels.map(CountTable.csvField)) + [String(line.count), line.percent ?? ""] + line.extra
        }
        return rows.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// A GitHub-flavoured Markdown table; `|` and `\` in values are escaped.
    func markdown() -> String {
        guard !columns.isEmpty else { return "| records |\n| ---: |\n| \(total) |\n" }
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
                .replacingOccurrences(of: "\n", with: " ")
        }
        let header = "| " + (columns.map(cell) + ["count", "percent"] + extraColumns).joined(separator: " | ") + " |"
        let rule = "| " + (columns.map { _ in "---" } + ["---:", "---:"] + extraColumns.map { _ in "---:" }).joined(separator: " | ") + " |"
        let body = lines.map { line in
            "| " + (line.labels.map(cell) + [String(line.count), line.percent.map { $0 + "%" } ?? "-"] + line.extra).joined(separator: " | ") + " |"
        }
        return ([header, rule] + body).joined(separator: "\n") + "\n"
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
