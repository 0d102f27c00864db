import EspyDashboard

/// Config `[ui]`: the dashboard every node serves under `/ui/`.
public struct UISettings {
    /// A Chart.js UMD build; the default is where Debian's `libjs-chart.js` installs it.
    public var chartLibraryPath = Dashboard.defaultChartLibraryPath

    public init() {}
}
