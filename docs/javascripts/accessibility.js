// What the course adds to mkdocs-material's pages for keyboards and screen readers (WCAG 2.1 AA).
"use strict";

// A table or display formula wider than its column scrolls sideways inside itself; a keyboard must
// reach it to scroll it (WCAG 2.1.1). Each one that scrolls at the current width becomes a tab stop
// with a name, and stops being one when the window grows wide enough to show it whole.
// (Code blocks are mkdocs-material's own business: it already makes those that scroll focusable.)
const SCROLLING = ".md-typeset .md-typeset__scrollwrap, .md-typeset math[display=block]";

function markScrollingRegions() {
  let tables = 0;
  for (const region of document.querySelectorAll(SCROLLING)) {
    const scrolls = region.scrollWidth > region.clientWidth + 1, table = region.localName !== "math";
    tables += table;
    if (scrolls === region.hasAttribute("data-scrolls")) continue;
    if (scrolls) {
      region.setAttribute("data-scrolls", "");
      region.tabIndex = 0;
      if (table) {  // a role would hide a formula's own (math) from a screen reader
        region.setAttribute("role", "region");
        region.setAttribute("aria-label", `Table ${tables}, scrolls sideways`);  // each region its own name
      }
    } else {
      for (const name of ["data-scrolls", "tabindex", "role", "aria-label"]) region.removeAttribute(name);
    }
  }
}

// The theme gives each code block a navigation landmark for its copy button, all unnamed: a screen
// reader's list of landmarks could not tell them apart. Each gets the number of its block.
function nameCodeNavigation() {
  document.querySelectorAll(".md-typeset .md-code__nav").forEach((nav, index) => {
    nav.setAttribute("aria-label", `Code block ${index + 1}`);
  });
}

// The theme wraps tables and adds the code buttons once its script has run on the page: after that.
function improve() {
  markScrollingRegions();
  nameCodeNavigation();
}

if (window.document$) {
  document$.subscribe(() => setTimeout(improve));
} else {
  window.addEventListener("load", improve);
}
window.addEventListener("resize", markScrollingRegions);
