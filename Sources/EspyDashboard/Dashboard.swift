import EspyHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dashboard every node serves under `/ui/`: its page, script and style sheet, embedded in
/// the binary at build time, and Chart.js from the Debian package (`libjs-chart.js`), read once
/// at start, so nothing is fetched from elsewhere when the page runs. The page asks the node's
/// own API (`/v1/count`, `/v1/cluster/*`) for everything it shows.
public final class Dashboard {
    /// Where Debian's `libjs-chart.js` puts Chart.js (UMD build, which defines `window.Chart`).
    public static let defaultChartLibraryPath = "/usr/share/javascript/chart.js/chart.min.js"

    private let chartLibrary: [UInt8]?
    /// Why the charts cannot be drawn, for the log and the page; nil when they can.
    public let chartLibraryProblem: String?

    /// Reads the chart library now: the node starts before its loop serves anything, so the
    /// read never blocks a request.
    public init(chartLibraryPath: String = Dashboard.defaultChartLibraryPath) {
        switch Dashboard.readFile(chartLibraryPath) {
        case .success(let bytes):
            chartLibrary = bytes
            chartLibraryProblem = nil
        case .failure(let failure):
            chartLibrary = nil
            chartLibraryProblem = "cannot read the chart library \(chartLibraryPath) (\(failure.reason)): install Debian's "
                + "libjs-chart.js, or set [ui] chart_library to a Chart.js UMD build"
        }
    }


    public func add(to router: inout Router) {
        router.add(.get, "/ui") { _, reply in
            reply(HTTPResponse(status: .movedPermanently, headers: [("Location", "/ui/")]))
        }
        router.add(.get, "/ui/") { request, reply in reply(Dashboard.asset(PackageResources.index_html, "text/html; charset=utf-8")) }
        router.add(.get, "/ui/app.js") { _, reply in reply(Dashboard.asset(PackageResources.app_js, "text/javascript; charset=utf-8")) }
        router.add(.get, "/ui/style.css") { _, reply in reply(Dashboard.asset(PackageResources.style_css, "text/css; charset=utf-8")) }
        router.add(.get, "/ui/lib/chart.js") { [chartLibrary, chartLibraryProblem] _, reply in
            guard let chartLibrary else { return reply(.error(.notFound, chartLibraryProblem ?? "no chart library")) }
            reply(Dashboard.asset(chartLibrary, "text/javascript; charset=utf-8"))
        }
    }

    /// `no-cache`: a browser revalidates, so a node upgraded in place serves its new page at once.
    private static func asset(_ bytes: [UInt8], _ contentType: String) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: [
            ("Content-Type", contentType), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
            // Everything the page loads comes from this node; nothing else may run in it.
            ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
        ], body: .bytes(bytes))
    }

    private static func readFile(_ path: String) -> Result<[UInt8], ReadFailure> {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return .failure(ReadFailure(reason: String(cString: strerror(errno)))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(reason: String(cString: strerror(errno))))
            }
            if count == 0 { return .success(bytes) }
            bytes += chunk[0..<count]
        }
    }
}

private struct ReadFailure: Error {
    let reason: String
}
