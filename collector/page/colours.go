package page

// Palette is the page's own colours (the statuses' are
// coverage.Status.Colour): the template writes them into its style, and
// the tests hold every text pair to WCAG AA contrast (4.5:1) and the
// swatches' border to 3:1 against the page.
type Palette struct {
	Text, Muted, Link, Background, Rule, Focus string
	BannerBackground, BannerBorder             string
	HeadBackground, MapBackground, Swatch      string
}

var colours = Palette{
	Text: "#1A1A1A", Muted: "#4D4D4D", Link: "#0B57D0", Background: "#FFFFFF", Rule: "#767676",
	Focus: "#0B57D0", BannerBackground: "#FFF3CD", BannerBorder: "#8A6D00",
	HeadBackground: "#F2F2F2", MapBackground: "#EEF5FB", Swatch: "#4D4D4D",
}
