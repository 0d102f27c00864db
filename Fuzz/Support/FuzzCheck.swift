/// Stops the run with `message` when a fuzzer's property does not hold. `precondition` would do,
/// but optimized builds drop its message, and a reproducer without one is slow to read.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
