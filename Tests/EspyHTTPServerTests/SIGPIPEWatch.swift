import Foundation

/// Counts SIGPIPE signals instead of letting the default action kill the test process.
///
/// A server writing to a connection its client has reset gets SIGPIPE from writev(2). The
/// executable ignores it in `main`; these in-process tests have no such main, so this handler
/// stands in (and counts, for anyone curious).
enum SIGPIPEWatch {
    private static let installation: Void = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in sigpipeCount += 1 }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGPIPE, &action, nil)
    }()

    static func install() { _ = installation }

    /// SIGPIPEs raised so far in this process.
    static var count: Int { Int(sigpipeCount) }
}

private nonisolated(unsafe) var sigpipeCount: Int32 = 0
