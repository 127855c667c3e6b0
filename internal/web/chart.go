package web

// Charts are SVG drawn here, on the server, rather than by a JavaScript
// charting library: the page then reads the same with JavaScript off,
// offline and inside the self-contained --export html file; there is no
// third-party code to vet, vendor and keep up to date; a chart costs a few
// kilobytes; and what it shows is testable as text (golden files) like
// the rest of the page. The numbers behind every chart are also on the
// page as a table, for screen readers and for copying.

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// segment is one part of a stacked bar.
type segment struct {
	Class string
	Value int
	Label string
}

// barSVG draws one horizontal bar split into segments, scaled to total.
func barSVG(id, title string, segs []segment, total, width, height int) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" id="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`,
		id, width, height, width, height, id, id, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect class="track" x="0" y="0" width="%d" height="%d" rx="3"/>`, width, height)
	if total > 0 {
		x := 0.0
		for _, s := range segs {
			if s.Value == 0 {
				continue
			}
			w := float64(s.Value) * float64(width) / float64(total)
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="0" width="%.1f" height="%d"><title>%s: %d</title></rect>`,
				s.Class, x, w, height, html.EscapeString(s.Label), s.Value)
			x += w
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// series is one band of a stacked area chart.
type series struct {
	Class  string
	Label  string
	Values []int
}

// trendSVG draws bands stacked bottom-up (the first series at the
// bottom) over len(labels) points, x by position.
func trendSVG(id, title string, labels []string, bands []series) template.HTML {
	const (
		w, h             = 800, 240
		left, right, top = 56, 12, 10
		bottom           = 36
		plotW, plotH     = w - left - right, h - top - bottom
		gridLines        = 4
		xLabelsAtMost    = 6
	)
	n := len(labels)
	if n < 2 {
		return ""
	}
	maxTotal := 0
	for i := range n {
		t := 0
		for _, s := range bands {
			t += s.Values[i]
		}
		maxTotal = max(maxTotal, t)
	}
	yMax := niceCeil(max(maxTotal, 1))
	xAt := func(i int) float64 { return left + float64(i)*plotW/float64(n-1) }
	yAt := func(v int) float64 { return top + plotH - float64(v)*plotH/float64(yMax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`,
		id, w, h, id, id, html.EscapeString(title))
	for g := 0; g <= gridLines; g++ {
		v := yMax * g / gridLines
		y := yAt(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text class="axis" x="%d" y="%.1f" text-anchor="end">%d</text>`,
			left, w-right, y, y, left-6, y+4, v)
	}
	base := make([]int, n)
	for _, s := range bands {
		top := make([]int, n)
		for i := range n {
			top[i] = base[i] + s.Values[i]
		}
		var pts []string
		for i := range n {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(top[i])))
		}
		for i := n - 1; i >= 0; i-- {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(base[i])))
		}
		fmt.Fprintf(&b, `<polygon class="%s" points="%s"><title>%s</title></polygon>`, s.Class, strings.Join(pts, " "), html.EscapeString(s.Label))
		base = top
	}
	step := max(1, (n+xLabelsAtMost-1)/xLabelsAtMost)
	for i := 0; i < n; i += step {
		anchor := "middle"
		if i == 0 {
			anchor = "start"
		}
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="%s">%s</text>`, xAt(i), h-bottom+18, anchor, html.EscapeString(labels[i]))
	}
	if (n-1)%step != 0 {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="end">%s</text>`, xAt(n-1), h-bottom+18, html.EscapeString(labels[n-1]))
	}
	fmt.Fprintf(&b, `<line class="baseline" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, left, w-right, yAt(0), yAt(0))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so that four
// grid lines fall on round numbers.
func niceCeil(v int) int {
	v = max(v, 4)
	p := 1
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int{1, 2, 4, 5, 8} {
		if m*p >= v && (m*p)%4 == 0 {
			return m * p
		}
	}
	return 10 * p
}
