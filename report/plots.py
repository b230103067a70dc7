"""Figures with the report's common look, and the time axis that all time plots share."""

from bokeh.models import BoxAnnotation, HoverTool, Legend, Range1d, Span
from bokeh.palettes import Category10_10, Category20_20
from bokeh.plotting import figure

from report.timeseries import bucket_width, to_ms

TOOLS = "pan,box_zoom,xwheel_zoom,reset,save"
# Long series are aggregated into at most this many time buckets: enough to see a trend, few
# enough that a plot with a dozen series stays light in the page and in the browser.
TIME_BUCKETS = 200


def palette(n: int) -> list[str]:
    colours = Category10_10 if n <= 10 else Category20_20
    return [colours[i % len(colours)] for i in range(n)]


# The scenario's bands, by action kind: conditions changed, nodes cut off; and its instants:
# replicas killed, a replica count changed.
BAND_COLOURS = {"netem": "#ff7f0e", "partition": "#d62728", "kill": "#9467bd", "scale": "#2ca02c"}


class TimeAxis:
    """One x range for every time plot, so that zooming one zooms them all (linked axes).

    `bands`: (start, end, kind) in Unix seconds, shaded on every time plot (the scenario's actions);
    one that ends where it starts is an instant, drawn as a line.
    """

    def __init__(self, start: float, stop: float, bands: list[tuple[float, float, str]] = ()):
        self.start, self.stop, self.bands = start, stop, list(bands)
        pad = max(1.0, (stop - start) * 0.01)
        self.range = Range1d(float(to_ms(start - pad)), float(to_ms(stop + pad)))
        self.bucket_s = bucket_width(max(stop - start, 1.0), TIME_BUCKETS)

    def figure(self, title: str, y_label: str, height: int = 260, **kwargs) -> figure:
        fig = figure(
            title=title,
            x_axis_type="datetime",
            x_range=self.range,
            height=height,
            sizing_mode="stretch_width",
            tools=TOOLS,
            active_scroll=None,
            **kwargs,
        )
        fig.yaxis.axis_label = y_label
        fig.toolbar.logo = None
        for left, right, kind in self.bands:
            colour = BAND_COLOURS[kind]
            if right == left:
                fig.add_layout(
                    Span(location=float(to_ms(left)), dimension="height", line_color=colour, line_width=2,
                         line_alpha=0.7, line_dash="dashed", name=f"scenario-{kind}")
                )  # fmt: skip
                continue
            fig.add_layout(
                BoxAnnotation(
                    left=float(to_ms(left)), right=float(to_ms(right)), fill_color=colour, fill_alpha=0.12,
                    line_color=colour, line_alpha=0.4, name=f"scenario-{kind}",
                )
            )  # fmt: skip
        return fig


def plain_figure(title: str, height: int = 300, **kwargs) -> figure:
    fig = figure(
        title=title, height=height, sizing_mode="stretch_width", tools=TOOLS, active_scroll=None, **kwargs
    )
    fig.toolbar.logo = None
    return fig


def side_legend(fig: figure) -> None:
    """Legend outside the plot area, click to hide a series: readable with many series.

    Call it before adding glyphs: their `legend_label`s then go into this legend."""
    legend = Legend(click_policy="hide", location="top_left")
    fig.add_layout(legend, "right")


def hover(fig: figure, renderers: list, tooltips: list[tuple[str, str]], time_field: str = "@x") -> None:
    """Hover tooltips, with the time field (if any) shown as a UTC date and time."""
    formatters = {time_field: "datetime"} if time_field else {}
    fig.add_tools(HoverTool(renderers=renderers, tooltips=tooltips, formatters=formatters))
