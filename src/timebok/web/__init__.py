"""`timebok web`: the app in a browser tab (textual-serve), one app process per tab, after an OpenID Connect sign-in."""
