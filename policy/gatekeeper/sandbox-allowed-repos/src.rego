# Images must come from the tenant's allowed repositories. A repository prefix only matches on a
# path-segment boundary ("…/repo1" admits "…/repo1/harness", never "…/repo1-evil/x"); a Docker
# Hub shorthand such as "nginx" is compared as written, so it only passes if listed as written.
package sandboxallowedrepos

import future.keywords.contains
import future.keywords.if
import future.keywords.in

import data.lib.sandbox

violation contains {"msg": msg} if {
	some x in sandbox.containers
	img := sandbox.image(x.container)
	repo := sandbox.image_repository(img)
	not sandbox.repo_allowed(repo, object.get(input.parameters, "repos", []))
	msg := concat("", [sandbox.where(x), ": image ", shown(img), " is not from an allowed repository (", allowed_list, ")"])
}

allowed_list := concat(", ", object.get(input.parameters, "repos", []))

shown(img) := img if {
	img != ""
} else := "<none>"
