#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress display on standard error, redrawn in place; silent when standard
/// error is not a terminal (logs and CI stay clean).
struct ProgressLine {
    let isEnabled = isatty(STDERR_FILENO) != 0
    private var lastDrawn: Double = 0

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Redraws at most five times a second.
    mutating func update(records: Int, bytesRead: Int, totalBytes: Int?, startedAt: Double) {
        let now = ProgressLine.now()
        guard isEnabled, now - lastDrawn >= 0.2 else { return }
        lastDrawn = now
        let elapsed = max(now - startedAt, 0.001)
        var text = "\(grouped(records)) records, \(grouped(Int(Double(records) / elapsed))) rec/s"
        if let totalBytes, totalBytes > 0 {
            let fraction = min(1, Double(bytesRead) / Double(totalBytes))
            let filled = Int(fraction * 30)
            let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
            text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
                + "\(Int(fraction * 100))% · " + text + " · ETA \(Int(eta.rounded()))s"
        }
        fputs("\r\u{1B}[2K" + text, stderr)
    }

    func clear() {
        if isEnabled { fputs("\r\u{1B}[2K", stderr) }
    }
}

/// 1234567 → "1,234,567".
func grouped(_ number: Int) -> String {
    let digits = String(number)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return out
}
