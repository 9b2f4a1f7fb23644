/* dteq: self-hosted distributed task execution over Redis. */

/*
 * --report PATH.html: one self-contained HTML file (inline style and
 * script; no external script, font, image or CDN) a CI server can keep
 * as an artifact and anyone can open from disk:
 *
 * - the totals: counts, wall time against the sum of task times, the
 *   critical path;
 * - a timeline: one lane per agent slot (summary_lanes()), one bar per
 *   attempt, placed by the agent's start and end times and coloured by
 *   status; the critical path's bars are outlined. Hovering shows the
 *   task, its times and the last lines of its output (a title, so it
 *   works without script); a click or Enter shows the whole kept tail in
 *   a panel, and so does opening the page at #aN (attempt N's bar);
 * - the summary table, failures first (the header's red pills link to
 *   them), each row opening its task's tail (a cache hit, not run, has
 *   none and no bar: its note says so); the script filters it (by id,
 *   by status) and sorts it by a column's header;
 * - the commands recorded in the main job (dteq record), if any, in a
 *   table of their own (not on the timeline: they ran on no agent, and
 *   often before the run began), each row opening its output's tail.
 *
 * The counts are the closing line's (recap.c): failed (lost and
 * cancelled included) apart from timed out; the slots are those the
 * agents offered (summary.c), idle ones included.
 *
 * The bars are laid out here, in percentages of the run's span, so the
 * page needs no script to render. The script fills the panel (a
 * failure's output opened at its end, where the error is), filters and
 * sorts the table and, once the page is laid out, counts the bars that
 * have a size into <body data-rendered-bars>, which the tests read from
 * the DOM, as they read the panel's data-at-end.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"

#define HTML_TITLE_LINES	8	/* output lines in a bar's title */

static const char html_style[] =
    ":root{--ok:#2da44e;--bad:#cf222e;--warn:#bf8700;--lost:#8250df;"
    "--off:#8c959f;--bg:#fff;--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;"
    "--lane:#f6f8fa;--crit:#0969da}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;"
    "--mute:#9198a1;--line:#3d444d;--lane:#151b23;--crit:#4493f8}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;padding:24px;background:var(--bg);color:var(--fg);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif}\n"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\n"
    "code,pre,.mono{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,"
    "Consolas,monospace;font-size:12px}\n"
    ".totals{color:var(--mute);margin:4px 0}\n"
    ".pill{display:inline-block;padding:1px 8px;border-radius:10px;"
    "color:#fff;font-weight:600;margin-right:4px}\n"
    ".success{background:var(--ok)}.failed{background:var(--bad)}"
    ".timeout{background:var(--warn)}.lost{background:var(--lost)}"
    ".cancelled,.skipped,.unfinished{background:var(--off)}\n"
    ".retried{background:repeating-linear-gradient(45deg,var(--bad) 0 6px,"
    "#e5534b 6px 12px)}\n"
    ".chart{overflow-x:auto;border:1px solid var(--line);"
    "border-radius:6px}\n"
    ".rows{min-width:900px}\n"
    ".lane,.axis{display:flex;align-items:stretch;"
    "border-bottom:1px solid var(--line)}\n"
    ".lane:nth-child(even){background:var(--lane)}\n"
    ".label{flex:0 0 180px;padding:4px 8px;overflow:hidden;"
    "text-overflow:ellipsis;white-space:nowrap;color:var(--mute);"
    "border-right:1px solid var(--line)}\n"
    ".track{position:relative;flex:1;height:28px;margin:0 12px}\n"
    ".axis .track{height:22px}\n"
    ".tick{position:absolute;top:3px;transform:translateX(-50%);"
    "color:var(--mute);font-size:11px;white-space:nowrap}\n"
    ".bar{position:absolute;top:4px;height:20px;min-width:3px;"
    "border-radius:3px;color:#fff;font-size:11px;line-height:20px;"
    "padding:0 4px;overflow:hidden;white-space:nowrap;"
    "text-overflow:ellipsis;cursor:pointer}\n"
    ".bar.crit{box-shadow:0 0 0 2px var(--crit)}\n"
    ".bar:hover,.bar:focus{filter:brightness(1.15);outline:2px solid "
    "var(--fg);z-index:2}\n"
    ".legend span{margin-right:12px;color:var(--mute)}\n"
    ".legend i{display:inline-block;width:12px;height:12px;"
    "border-radius:2px;vertical-align:-1px;margin-right:4px}\n"
    "#panel{border:1px solid var(--line);border-radius:6px;padding:8px "
    "12px;margin-top:12px}\n"
    "#panel h3{margin:4px 0;font-size:15px}\n"
    "#panel pre{max-height:420px;overflow:auto;background:var(--lane);"
    "padding:8px;margin:8px 0 4px;white-space:pre-wrap}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid "
    "var(--line);white-space:nowrap}\n"
    "td.note{white-space:normal;color:var(--mute)}\n"
    "tbody tr{cursor:pointer}tbody tr:hover{background:var(--lane)}\n"
    "td .pill{font-weight:500;font-size:12px}\n"
    ".num{text-align:right}\n"
    "a.pill{text-decoration:none}\n"
    "th[data-k]{cursor:pointer;user-select:none}\n"
    "th[data-k]:after{content:' \\2195';color:var(--mute)}\n"
    ".tools{margin:0 0 8px}.tools input,.tools select{font:inherit;"
    "padding:2px 6px;margin-right:8px;background:var(--bg);"
    "color:var(--fg);border:1px solid var(--line);border-radius:4px}\n"
    ".tails{display:none}\n";

static const char html_script[] =
    "(function () {\n"
    "  var panel = document.getElementById('panel');\n"
    "  function show(el) {\n"
    "    var a = el.getAttribute('data-a'), r = el.getAttribute('data-r');\n"
    "    var tail = a !== null ? document.getElementById('a' + a) :\n"
    "        r !== null ? document.getElementById('r' + r) : null;\n"
    "    document.getElementById('p-title').textContent =\n"
    "        el.getAttribute('data-id');\n"
    "    document.getElementById('p-meta').textContent =\n"
    "        el.getAttribute('data-meta');\n"
    "    var out = document.getElementById('p-out');\n"
    "    out.textContent = tail ?\n"
    "        (tail.textContent || '(no output)') : '(no output kept)';\n"
    "    panel.hidden = false;\n"
    "    /* A failure opens at its end, where it says why. */\n"
    "    out.scrollTop = el.getAttribute('data-end') ? out.scrollHeight : 0;\n"
    "    panel.setAttribute('data-at-end', out.scrollHeight >\n"
    "        out.clientHeight && out.scrollTop > 0 ? '1' : '0');\n"
    "    if (el.tagName === 'TR' && panel.scrollIntoView)\n"
    "      panel.scrollIntoView({block: 'nearest'});\n"
    "    if (a !== null && history.replaceState)\n"
    "      history.replaceState(null, '', '#a' + a);\n"
    "  }\n"
    "  var els = document.querySelectorAll('.bar, tbody tr');\n"
    "  for (var i = 0; i < els.length; i++) {\n"
    "    els[i].addEventListener('click', function () { show(this); });\n"
    "    els[i].addEventListener('keydown', function (e) {\n"
    "      if (e.key === 'Enter') show(this);\n"
    "    });\n"
    "  }\n"
    "  var m = /^#a([0-9]+)$/.exec(location.hash);\n"
    "  var pick = m && document.querySelector('.bar[data-a=\"' + m[1] +\n"
    "      '\"]');\n"
    "  if (pick) show(pick);\n"
    "  function count() {\n"
    "    var bars = document.querySelectorAll('.bar'), n = 0;\n"
    "    for (var i = 0; i < bars.length; i++) {\n"
    "      var r = bars[i].getBoundingClientRect();\n"
    "      if (r.width > 0 && r.height > 0) n++;\n"
    "    }\n"
    "    document.body.setAttribute('data-rendered-bars', String(n));\n"
    "  }\n"
    "  if (document.readyState === 'complete') count();\n"
    "  else window.addEventListener('load', count);\n"
    "  /* The table: filter by id and status, sort by a column. */\n"
    "  var body = document.getElementById('tasks');\n"
    "  var q = document.getElementById('q');\n"
    "  var st = document.getElementById('st');\n"
    "  if (!body || !q || !st) return;\n"
    "  var tools = document.getElementById('tools');\n"
    "  if (tools) tools.hidden = false;\n"
    "  function filter() {\n"
    "    var text = q.value.toLowerCase(), want = st.value, n = 0;\n"
    "    var rows = body.rows;\n"
    "    for (var i = 0; i < rows.length; i++) {\n"
    "      var r = rows[i], ok = (r.getAttribute('data-id') || '')\n"
    "          .toLowerCase().indexOf(text) >= 0;\n"
    "      if (ok && want)\n"
    "        ok = (' ' + r.getAttribute('data-f') + ' ')\n"
    "            .indexOf(' ' + want + ' ') >= 0;\n"
    "      r.hidden = !ok;\n"
    "      if (ok) n++;\n"
    "    }\n"
    "    document.getElementById('shown').textContent = n + ' of ' +\n"
    "        rows.length + ' tasks';\n"
    "  }\n"
    "  q.addEventListener('input', filter);\n"
    "  st.addEventListener('change', filter);\n"
    "  var pills = document.querySelectorAll('a.pill[data-f]');\n"
    "  for (var i = 0; i < pills.length; i++)\n"
    "    pills[i].addEventListener('click', function () {\n"
    "      st.value = this.getAttribute('data-f'); filter();\n"
    "    });\n"
    "  var ths = document.querySelectorAll('th[data-k]'), dir = {};\n"
    "  function key(r, k) {\n"
    "    var c = r.cells[k], v = c.getAttribute('data-v');\n"
    "    return v !== null ? Number(v) : c.textContent;\n"
    "  }\n"
    "  function sort(k, d) {\n"
    "    dir[k] = d;\n"
    "    var rows = Array.prototype.slice.call(body.rows);\n"
    "    rows.sort(function (x, y) {\n"
    "      var a = key(x, k), b = key(y, k);\n"
    "      return (a < b ? -1 : a > b ? 1 : 0) * d;\n"
    "    });\n"
    "    for (var j = 0; j < rows.length; j++) body.appendChild(rows[j]);\n"
    "  }\n"
    "  for (var i = 0; i < ths.length; i++)\n"
    "    ths[i].addEventListener('click', function () {\n"
    "      var k = Number(this.getAttribute('data-k'));\n"
    "      sort(k, dir[k] === 1 ? -1 : 1);\n"
    "    });\n"
    "  /* #failures shows the failures alone; #by-duration sorts. */\n"
    "  function go() {\n"
    "    if (location.hash === '#failures') st.value = 'fail';\n"
    "    if (location.hash === '#by-duration') sort(3, -1);\n"
    "    filter();\n"
    "  }\n"
    "  window.addEventListener('hashchange', go);\n"
    "  go();\n"
    "})();\n";

/* Print a NUL-terminated string escaped. */
static void
html_str(FILE *f, const char *text)
{
	if (text != NULL)
		export_escape(f, text, strlen(text));
}

/* Print ms as a duration. */
static void
html_dur(FILE *f, uint64_t ms)
{
	char	*d = util_format_duration(ms);

	fputs(d, f);
	free(d);
}

/* The CSS class of a status. */
static const char *
html_class(int status)
{
	return (result_status_name(status));
}

/* An offset from the run's start in percent of its span. */
static double
html_pct(const struct report *r, uint64_t at)
{
	if (at <= r->start_wall || r->span_ms == 0)
		return (0.0);
	if (at - r->start_wall >= r->span_ms)
		return (100.0);
	return (100.0 * (double)(at - r->start_wall) / (double)r->span_ms);
}

/* The last lines (at most HTML_TITLE_LINES) of an attempt's tail. */
static const char *
html_last_lines(const struct rattempt *a, size_t *len)
{
	const char	*end, *p;
	size_t		 lines = 0;

	*len = 0;
	if (a->tail == NULL || a->taillen == 0)
		return ("");
	end = a->tail + a->taillen;
	if (end[-1] == '\n')
		end--;
	for (p = end; p > a->tail; p--) {
		if (p[-1] == '\n' && ++lines == HTML_TITLE_LINES)
			break;
	}
	*len = (size_t)(end - p);
	return (p);
}

/* The header: title, counts, times, the critical path. */
static void
html_header(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	const size_t	*c = r->counts;
	size_t		 k, n;

	fputs("<header>\n<h1>dteq run <code>", f);
	html_str(f, s->run);
	fputs("</code></h1>\n<p>", f);
	fprintf(f, "<span class=\"pill success\">%zu succeeded</span>",
	    c[RESULT_SUCCESS]);
	if (r->flaky > 0)
		fprintf(f, "<span class=\"pill timeout\">%zu flaky</span>",
		    r->flaky);
	if (r->ncached > 0)
		fprintf(f, "<span class=\"pill success cached\">%zu cached, "
		    "not run</span>", r->ncached);
	/* As the closing line counts them; the pills lead to the rows. */
	if ((n = c[RESULT_FAILED] + c[RESULT_LOST] + c[RESULT_CANCELLED]) > 0)
		fprintf(f, "<a class=\"pill failed\" href=\"#failures\" "
		    "data-f=\"fail\">%zu failed</a>", n);
	if (c[RESULT_TIMEOUT] > 0)
		fprintf(f, "<a class=\"pill timeout\" href=\"#failures\" "
		    "data-f=\"fail\">%zu timed out</a>", c[RESULT_TIMEOUT]);
	if (c[RESULT_SKIPPED] > 0)
		fprintf(f, "<span class=\"pill skipped\">%zu skipped</span>",
		    c[RESULT_SKIPPED]);
	if (r->unfinished > 0)
		fprintf(f, "<span class=\"pill unfinished\">%zu not "
		    "finished</span>", r->unfinished);
	fprintf(f, " of %zu tasks</p>\n<p class=\"totals\">Wall time ",
	    graph_size(s->g));
	html_dur(f, r->wall_ms);
	fputs(" for ", f);
	html_dur(f, r->work_ms);
	fputs(" of task time", f);
	if (r->wall_ms > 0 && r->work_ms > 0)
		fprintf(f, ": %.1fx faster than one after another",
		    (double)r->work_ms / (double)r->wall_ms);
	fprintf(f, "; %zu agent slot%s on %zu agent%s.", r->nlanes,
	    r->nlanes == 1 ? "" : "s", r->nagents, r->nagents == 1 ? "" :
	    "s");
	if (s->abort_reason != NULL) {
		fputs(" The run was stopped: ", f);
		html_str(f, s->abort_reason);
		fputs(".", f);
	}
	fputs("</p>\n", f);
	if (r->nrecords > 0)
		fprintf(f, "<p class=\"totals\">%zu command%s recorded in the "
		    "main job: %zu succeeded, %zu failed.</p>\n", r->nrecords,
		    r->nrecords == 1 ? "" : "s", r->nrecords - r->nrecfailed,
		    r->nrecfailed);
	if (r->npath > 0) {
		fputs("<p class=\"totals\">Critical path ", f);
		html_dur(f, r->path_ms);
		fputs(": ", f);
		for (k = 0; k < r->npath; k++) {
			fputs(k > 0 ? " &gt; <code>" : "<code>", f);
			html_str(f, graph_node(s->g, r->path[k])->task->id);
			fputs("</code> ", f);
			html_dur(f, r->tasks[r->path[k]].work_ms);
		}
		fputs("</p>\n", f);
	}
	fputs("</header>\n", f);
}

/* The time axis: about ten ticks at a round step. */
static void
html_axis(const struct report *r, FILE *f)
{
	static const uint64_t	 steps[] = { 100, 200, 500, 1000, 2000, 5000,
				    10000, 15000, 30000, 60000, 120000,
				    300000, 600000, 900000, 1800000,
				    3600000, 7200000 };
	uint64_t		 step = steps[0], t;
	size_t			 k;

	for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		step = steps[k];
		if (r->span_ms / step <= 10)
			break;
	}
	fputs("<div class=\"axis\"><div class=\"label\">agent</div>"
	    "<div class=\"track\">", f);
	for (t = 0; t <= r->span_ms; t += step) {
		fprintf(f, "<span class=\"tick\" style=\"left:%.3f%%\">",
		    html_pct(r, r->start_wall + t));
		if (step < 1000)
			fprintf(f, "%u.%us", (unsigned)(t / 1000),
			    (unsigned)(t % 1000 / 100));
		else if (step < 60000)
			fprintf(f, "%us", (unsigned)(t / 1000));
		else if (t % 60000 == 0)
			fprintf(f, "%um", (unsigned)(t / 60000));
		else
			fprintf(f, "%um%02us", (unsigned)(t / 60000),
			    (unsigned)(t % 60000 / 1000));
		fputs("</span>", f);
	}
	fputs("</div></div>\n", f);
}

/* One attempt's bar. */
static void
html_bar(const struct submit *s, FILE *f, size_t k)
{
	const struct report *r = s->report;
	const struct rattempt *a = &r->attempts[k];
	const char	*id = graph_node(s->g, a->task)->task->id, *last;
	double		 left, width;
	size_t		 len;
	char		*meta, *st, *en, *du;

	left = html_pct(r, a->start_ms);
	width = html_pct(r, a->end_ms > a->start_ms ? a->end_ms :
	    a->start_ms) - left;
	st = util_format_duration(a->start_ms > r->start_wall ?
	    a->start_ms - r->start_wall : 0);
	en = util_format_duration(a->end_ms > r->start_wall ?
	    a->end_ms - r->start_wall : 0);
	du = util_format_duration(a->duration_ms);
	xasprintf(&meta, "%s%s on %s, attempt %d: +%s to +%s (%s)%s",
	    result_status_name(a->status), a->final ? "" : " (retried)",
	    a->agent, a->attempt, st, en, du,
	    r->tasks[a->task].critical ? ", on the critical path" : "");
	fprintf(f, "<div class=\"bar %s%s\" style=\"left:%.3f%%;"
	    "width:%.3f%%\" tabindex=\"0\" data-a=\"%zu\"%s data-id=\"",
	    a->final ? html_class(a->status) : "retried",
	    r->tasks[a->task].critical && a->final ? " crit" : "", left, width,
	    k, a->status != RESULT_SUCCESS ? " data-end=\"1\"" : "");
	html_str(f, id);
	fputs("\" data-meta=\"", f);
	html_str(f, meta);
	fputs("\" title=\"", f);
	html_str(f, id);
	fputs("&#10;", f);
	html_str(f, meta);
	last = html_last_lines(a, &len);
	if (len > 0) {
		fputs("&#10;&#10;", f);
		export_escape(f, last, len);
	}
	fputs("\">", f);
	html_str(f, id);
	fputs("</div>", f);
	free(meta);
	free(st);
	free(en);
	free(du);
}

/* The timeline: a lane per agent slot, a bar per attempt. */
static void
html_timeline(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	size_t		 lane, k;

	fputs("<section id=\"timeline\">\n<h2>Timeline</h2>\n"
	    "<p class=\"legend\"><span><i class=\"success\"></i>succeeded"
	    "</span><span><i class=\"failed\"></i>failed</span><span>"
	    "<i class=\"retried\"></i>failed, retried</span><span>"
	    "<i class=\"timeout\"></i>timed out</span><span><i class=\"lost\">"
	    "</i>lost</span><span><i class=\"cancelled\"></i>cancelled</span>"
	    "<span><i style=\"box-shadow:0 0 0 2px var(--crit)\"></i>critical "
	    "path</span></p>\n<div class=\"chart\"><div class=\"rows\">\n", f);
	html_axis(r, f);
	for (lane = 0; lane < r->nlanes; lane++) {
		fputs("<div class=\"lane\"><div class=\"label\" title=\"", f);
		html_str(f, r->lanes[lane]);
		fputs("\">", f);
		html_str(f, r->lanes[lane]);
		fputs("</div><div class=\"track\">", f);
		for (k = 0; k < r->nattempts; k++) {
			if (r->attempts[k].lane == lane)
				html_bar(s, f, k);
		}
		fputs("</div></div>\n", f);
	}
	fputs("</div></div>\n<div id=\"panel\" hidden><h3 id=\"p-title\">"
	    "</h3><div id=\"p-meta\" class=\"mono\"></div><pre id=\"p-out\">"
	    "</pre></div>\n</section>\n", f);
}

/* The words the status filter matches in task i's row (data-f). */
static const char *
html_filter_words(const struct submit *s, size_t i)
{
	if (summary_is_failure(s, i))
		return ("fail");
	if (summary_is_flaky(s, i))
		return ("success flaky");
	if (summary_is_cached(s, i))
		return ("success cached");
	if (s->pt[i].state != PT_DONE)
		return ("unfinished");
	return (s->pt[i].result.status == RESULT_SKIPPED ? "skipped" :
	    "success");
}

/* One row of the summary table; first: the first failure's (#failures). */
static void
html_row(const struct submit *s, FILE *f, size_t i, int first)
{
	const struct report *r = s->report;
	const struct ptask *p = &s->pt[i];
	char		*meta;

	xasprintf(&meta, "%s%s%s", summary_word(s, i),
	    p->reason != NULL || summary_is_cached(s, i) ? ": " : "",
	    p->reason != NULL ? p->reason : summary_is_cached(s, i) ?
	    "cache hit, not run" : "");
	fputs("<tr tabindex=\"0\"", f);
	if (first)
		fputs(" id=\"failures\"", f);
	if (r->tasks[i].last != GRAPH_NONE)
		fprintf(f, " data-a=\"%zu\"", r->tasks[i].last);
	if (summary_is_failure(s, i))
		fputs(" data-end=\"1\"", f);
	fprintf(f, " data-f=\"%s\" data-id=\"", html_filter_words(s, i));
	html_str(f, graph_node(s->g, i)->task->id);
	fputs("\" data-meta=\"", f);
	html_str(f, meta);
	fprintf(f, "\"><td><span class=\"pill %s\">",
	    p->state == PT_DONE ? html_class(p->result.status) :
	    "unfinished");
	html_str(f, summary_word(s, i));
	fputs("</span></td><td class=\"mono\">", f);
	html_str(f, graph_node(s->g, i)->task->id);
	fputs("</td><td>", f);
	html_str(f, p->result.agent != NULL ? p->result.agent : "-");
	if (p->state == PT_DONE && p->result.status != RESULT_SKIPPED &&
	    !summary_is_cached(s, i)) {
		fprintf(f, "</td><td class=\"num\" data-v=\"%llu\">",
		    (unsigned long long)p->result.duration_ms);
		html_dur(f, p->result.duration_ms);
	} else
		fputs("</td><td class=\"num\" data-v=\"-1\">-", f);
	fprintf(f, "</td><td class=\"num\" data-v=\"%d\">%d</td>"
	    "<td class=\"note\">", summary_attempts(s, i),
	    summary_attempts(s, i));
	if (summary_is_flaky(s, i))
		fputs("flaky ", f);
	if (summary_is_cached(s, i))
		fputs("cache hit, not run ", f);
	if (p->state == PT_DONE && p->result.status == RESULT_FAILED)
		fprintf(f, "exit %d ", p->result.exit_code);
	html_str(f, p->reason);
	fputs("</td></tr>\n", f);
	free(meta);
}

/*
 * The summary table: failures first (the first of them is #failures),
 * then the others in the summary's order. The filter and the sortable
 * headers work with the script; without it the table is all there.
 */
static void
html_table(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	size_t		 k, i, n = graph_size(s->g);
	int		 first = 1;

	fputs("<section id=\"summary\">\n<h2>Tasks</h2>\n"
	    "<p class=\"tools\" id=\"tools\" hidden><input id=\"q\" "
	    "type=\"search\" placeholder=\"Filter by task id\" "
	    "aria-label=\"Filter by task id\"><select id=\"st\" "
	    "aria-label=\"Status\"><option value=\"\">all</option>"
	    "<option value=\"fail\">failed</option><option value=\"flaky\">"
	    "flaky</option><option value=\"success\">succeeded</option>"
	    "<option value=\"cached\">cached</option><option "
	    "value=\"skipped\">skipped</option><option value=\"unfinished\">"
	    "not finished</option></select><a href=\"#by-duration\">slowest "
	    "first</a> <span id=\"shown\"></span></p>\n"
	    "<table>\n<thead><tr><th data-k=\"0\">Status</th>"
	    "<th data-k=\"1\">Task</th><th data-k=\"2\">Agent</th>"
	    "<th class=\"num\" data-k=\"3\">Duration</th>"
	    "<th class=\"num\" data-k=\"4\">Attempts</th><th>Note</th>"
	    "</tr></thead>\n<tbody id=\"tasks\">\n", f);
	for (k = 0; k < n; k++) {
		i = r->order[k];
		if (!summary_is_failure(s, i))
			continue;
		html_row(s, f, i, first);
		first = 0;
	}
	for (k = 0; k < n; k++) {
		i = r->order[k];
		if (!summary_is_failure(s, i))
			html_row(s, f, i, 0);
	}
	fputs("</tbody>\n</table>\n</section>\n", f);
}

/*
 * The commands recorded in the main job (dteq record): a table of their
 * own, as they are not tasks of the graph and ran on no agent.
 */
static void
html_records(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	const struct result *res;
	size_t		 k;
	char		*meta;

	if (r->nrecords == 0)
		return;
	fputs("<section id=\"recorded\">\n<h2>Recorded in the main job</h2>\n"
	    "<p class=\"totals\">Commands run by <code>dteq record</code> in "
	    "the main job; they do not change the run's result.</p>\n"
	    "<table>\n<thead><tr><th>Status</th><th>Command</th>"
	    "<th class=\"num\">Duration</th><th class=\"num\">Exit</th>"
	    "</tr></thead>\n<tbody>\n", f);
	for (k = 0; k < r->nrecords; k++) {
		res = &r->records[k].result;
		if (res->status == RESULT_FAILED)
			xasprintf(&meta, "failed (exit %d) in the main job, "
			    "attempt %d", res->exit_code, res->attempt);
		else
			xasprintf(&meta, "%s in the main job, attempt %d",
			    result_status_name(res->status), res->attempt);
		fprintf(f, "<tr tabindex=\"0\" class=\"record\" "
		    "data-r=\"%zu\" data-id=\"", k);
		html_str(f, res->id);
		fputs("\" data-meta=\"", f);
		html_str(f, meta);
		fprintf(f, "\"><td><span class=\"pill %s\">%s</span></td>"
		    "<td class=\"mono\">", html_class(res->status),
		    result_status_name(res->status));
		html_str(f, res->id);
		fputs("</td><td class=\"num\">", f);
		html_dur(f, res->duration_ms);
		fprintf(f, "</td><td class=\"num\">%d</td></tr>\n",
		    res->exit_code);
		free(meta);
	}
	fputs("</tbody>\n</table>\n</section>\n", f);
}

/* The kept output: one hidden pre per attempt. */
static void
html_tails(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	const struct rattempt *a;
	size_t		 k;

	fputs("<div class=\"tails\">\n", f);
	for (k = 0; k < r->nattempts; k++) {
		a = &r->attempts[k];
		fprintf(f, "<pre id=\"a%zu\">", k);
		export_escape(f, a->tail, a->taillen);
		fputs("</pre>\n", f);
	}
	for (k = 0; k < r->nrecords; k++) {
		fprintf(f, "<pre id=\"r%zu\">", k);
		export_escape(f, r->records[k].tail, r->records[k].taillen);
		fputs("</pre>\n", f);
	}
	fputs("</div>\n", f);
}

/* Write the HTML report. */
int
html_write(const struct submit *s, const char *path, char **cause)
{
	const struct report *r = s->report;
	FILE		*f;

	if ((f = export_open(path, cause)) == NULL)
		return (-1);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<title>dteq run ", f);
	html_str(f, s->run);
	fprintf(f, ": %zu of %zu succeeded</title>\n<style>\n%s</style>\n"
	    "</head>\n<body data-bars=\"%zu\" data-lanes=\"%zu\" "
	    "data-tasks=\"%zu\" data-records=\"%zu\">\n",
	    r->counts[RESULT_SUCCESS], graph_size(s->g), html_style,
	    r->nattempts, r->nlanes, graph_size(s->g), r->nrecords);
	html_header(s, f);
	html_timeline(s, f);
	html_table(s, f);
	html_records(s, f);
	html_tails(s, f);
	fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", html_script);
	return (export_close(f, path, cause));
}
