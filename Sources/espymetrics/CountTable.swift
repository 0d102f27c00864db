import Foundation

/// Renders a `/v1/count` answer for people (aligned table) or spreadsheets (CSV), with each
/// value's share of the records considered and a total row.
struct CountTable {
    let groupedBy: String?
    let rows: [(value: String, count: Int)]
    let missing: Int
    let total: Int

    init(answer: [String: Any]) {
        groupedBy = answer["grouped_by"] as? String
        let counts = (answer["counts"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        rows = counts.map { (value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
        missing = answer["error_count"] as? Int ?? 0
        total = answer["record_count"] as? Int ?? 0
    }

    private func percent(_ count: Int) -> String {
        guard total > 0 else { return "-" }
        let hundredths = (count * 10_000 + total / 2) / total
        return "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2))%"
    }

    private var lines: [(String, String, String)] {
        var lines = rows.map { ($0.value, String($0.count), percent($0.count)) }
        if missing > 0 { lines.append(("(missing)", String(missing), percent(missing))) }
        lines.append(("total", String(total), total > 0 ? "100.00%" : "-"))
        return lines
    }

    func table() -> String {
        guard let groupedBy else { return "records: \(total)\n" }
        let header = (groupedBy, "count", "percent")
        let all = [header] + lines
        let width0 = all.map(\.0.count).max() ?? 0
        let width1 = all.map(\.1.count).max() ?? 0
        let width2 = all.map(\.2.count).max() ?? 0
        return all.map { row in
            row.0.rightPadded(to: width0) + "  " + row.1.leftPadded(to: width1, with: " ") + "  "
                + row.2.leftPadded(to: width2, with: " ")
        }.joined(separator: "\n") + "\n"
    }

    func csv() -> String {
        guard let groupedBy else { return "records\n\(total)\n" }
        let rows = [(groupedBy, "count", "percent")] + lines
        return rows.map { [csvField($0.0), $0.1, $0.2].joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
