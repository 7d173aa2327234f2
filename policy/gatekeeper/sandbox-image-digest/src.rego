# Images must be pinned by digest (name@sha256:<64 lowercase hex>). Binary Authorization signs
# digests; a tag is a mutable pointer that could be moved to unsigned content after review.
package sandboximagedigest

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.containers
	img := sandbox.image(x.container)
	not sandbox.pinned_by_digest(img)
	msg := concat("", [sandbox.where(x), ": image ", shown(img), " must be pinned by digest (name@sha256:<64 hex>), not by tag"])
}

shown(img) := img if {
	img != ""
} else := "<none>"
