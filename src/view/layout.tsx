/** @jsxImportSource preact */
import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { translate, type Locale } from '../chat/i18n.js';

// One small stylesheet in the page itself: a phone inside WeCom's browser makes one request, and nothing comes from
// outside the intranet. Mobile first: one column, large tap targets; wider screens get wider margins only.
const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1f2329;background:#f5f6f7}
header,main{max-width:860px;margin:0 auto;padding:12px}
header{background:#fff;border-bottom:1px solid #e5e6eb}
h1{font-size:18px;margin:0 0 4px}
.sub{color:#646a73;font-size:13px;margin:0}
.top{display:flex;justify-content:space-between;gap:8px;align-items:baseline}
.top a{font-size:13px;white-space:nowrap}
.note{color:#8f959e;font-size:13px}
.card{background:#fff;border-radius:8px;padding:10px 12px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.chart{margin:0}
.chart svg{width:100%;height:auto;display:block}
.grid{stroke:#eceef1}
.axis{font-size:11px;fill:#646a73}
.label{font-size:12px;fill:#1f2329}
.band{fill:#fdecea}
.mark{stroke:#d83931;stroke-dasharray:4 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;color:#646a73;padding-top:4px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
form.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:8px;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#646a73}
select,button{font:inherit;min-height:40px;border:1px solid #d0d3d6;border-radius:6px;background:#fff;padding:0 8px}
button{background:#3370ff;color:#fff;border-color:#3370ff}
details{border-top:1px solid #eceef1;padding:8px 0}
details:first-child{border-top:0}
summary{cursor:pointer;list-style:none;display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline;min-height:32px}
summary::-webkit-details-marker{display:none}
.sev{font-size:12px;color:#fff;border-radius:4px;padding:0 6px}
.name{font-weight:600;word-break:break-all}
.app{color:#646a73}
.when{color:#8f959e;font-size:12px;margin-left:auto}
.resolved .name{color:#2ea121}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:6px 0;font-size:13px}
dt{color:#8f959e}
dd{margin:0;word-break:break-all}
.links a{margin-right:14px;font-size:13px}
a{color:#3370ff;text-decoration:none}
nav.pages{display:flex;justify-content:space-between;align-items:center;padding:8px 0;font-size:13px}
nav.pages a{padding:8px 4px}
table{width:100%;border-collapse:collapse;font-size:13px}
td,th{text-align:left;padding:6px 4px;border-top:1px solid #eceef1;vertical-align:top}
th{color:#8f959e;font-weight:400}
`;

export function Page({ locale, title, children }: { locale: Locale; title: string; children: ComponentChildren }) {
  return (
    <html lang={locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{title}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>{children}</body>
    </html>
  );
}

/** A page's header: its title, the switch to the other language, then what the page adds (its window, its counts). */
export function Header({ locale, title, href, children }: { locale: Locale; title: string; href: (changes: Record<string, string | undefined>) => string; children: ComponentChildren }) {
  return (
    <header>
      <div class="top">
        <h1>{title}</h1>
        <a href={href({ lang: locale === 'zh-CN' ? 'en' : 'zh-CN' })}>{translate(locale, 'view.language')}</a>
      </div>
      {children}
    </header>
  );
}

/** A page with only a title and a sentence: a refusal, a failed login, a missing page. */
export function Message({ locale, title, text }: { locale: Locale; title: string; text: string }) {
  return (
    <Page locale={locale} title={title}>
      <main>
        <div class="card" role="alert">
          <h1>{title}</h1>
          <p>{text}</p>
        </div>
      </main>
    </Page>
  );
}

export const html = (page: preact.VNode): string => `<!doctype html>${renderToString(page)}`;
