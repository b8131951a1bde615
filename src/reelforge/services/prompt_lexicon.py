"""Word lists behind the prompt guide (``prompt_guide.py``): the phrases that name each of the
five elements the seed's "effective prompting" asks for.

Lists, not a language model, so guidance is instant, offline and the same on every run. A
phrase is matched on whole words, case-insensitively, after hyphens and spaces are folded
(``close-up`` = ``close up`` = ``closeup``). The lists are hand-compiled and cover common
prompts; ``tests/services/data/prompt_guide_labels.jsonl`` is the labelled set they answer to.
"""

from __future__ import annotations

from typing import Final


def _listed(text: str) -> frozenset[str]:
    """The phrases of a ``|``-separated list that may wrap across lines."""
    return frozenset(phrase.strip() for phrase in text.split("|") if phrase.strip())


def words(text: str) -> frozenset[str]:
    """The words of a space-separated list."""
    return frozenset(text.split())


SHOT_PHRASES: Final = _listed(
    """
    extreme close up|close up|closeup|medium close up|medium shot|medium wide shot|wide shot
    |extreme wide shot|wide angle|ultra wide|long shot|full shot|full body shot|cowboy shot
    |establishing shot|tracking shot|aerial shot|aerial view|aerial footage|aerial|drone shot
    |drone footage|overhead shot|overhead view|top down|top down view|birds eye view
    |bird's eye|bird's eye view|worm's eye view|low angle|low angle shot|high angle
    |high angle shot|dutch angle|over the shoulder|point of view|pov|first person|handheld
    |hand held|dolly shot|dolly zoom|crane shot|macro shot|macro|time lapse|timelapse
    |slow motion|panning shot|two shot|insert shot|cutaway|split screen|selfie|fisheye
    |tilt shift|static shot|locked off shot|steadicam|gimbal shot|orbit shot|360 degree shot
    |split diopter|shallow depth of field|depth of field|telephoto|portrait shot|profile shot
    |side view|front view|rear view|one take|single take|long take|cinematic shot|shot of
    |shot on|camera|tracking|pans|pan|panning|zooms|zoom|zooming|dolly|dollies|tilts|tilting
    """
)
"""Framing, angle and camera movement ("shot type (wide shot, close-up, etc.)")."""

LIGHTING_PHRASES: Final = _listed(
    """
    golden hour|blue hour|magic hour|sunlight|sunlit|sunshine|sunny|sunbeams|sun rays
    |moonlight|moonlit|starlight|starlit|candlelight|candlelit|candle light|firelight
    |lamplight|torchlight|neon|neon lit|backlit|backlighting|rim light|rim lit|key light
    |lighting|lit|light|lights|glow|glows|glowing|shadows|shadow|shadowy|silhouette
    |silhouetted|dawn|dusk|sunrise|sunset|twilight|night|nighttime|at night|midnight|morning
    |afternoon|evening|midday|noon|daylight|daytime|overcast|cloudy|foggy|fog|misty|mist|hazy
    |haze|stormy|dim|dimly|gloomy|moody|dramatic lighting|warm tones|cool tones|high key
    |low key|chiaroscuro|fluorescent|spotlight|spotlit|lantern light|harsh light|soft light
    |diffused|volumetric|god rays|light rays|rays of light|bioluminescent|luminous|illuminated
    |lantern lit|torch lit|lamp lit|mood|moody lighting|dreamy|pastel|ethereal|atmospheric
    |dark|darkness|glittering lights|flickering light|sun|sunny day
    """
)
"""Light sources, time of day and mood ("lighting (time of day, mood)")."""

NOT_LIGHT_AFTER: Final = words(
    "blue green pink grey gray brown yellow purple red orange hair chocolate wood skin eyes "
    "breeze rain drizzle snow wind jog touch weight lunch meal snack sweater jacket coat "
    "fabric suit"
)
"""``light`` or ``dark`` before these words is a shade or a weight, not illumination."""

SETTING_PHRASES: Final = _listed(
    """
    park|beach|shore|shoreline|coast|coastline|ocean|sea|seaside|lake|lakeside|river|riverbank
    |stream|creek|waterfall|pond|forest|woods|woodland|jungle|rainforest|desert|dunes|mountain
    |mountains|mountaintop|hill|hills|hillside|valley|canyon|cliff|cliffs|field|fields|meadow
    |farm|farmland|vineyard|orchard|garden|backyard|yard|lawn|street|streets|road|highway
    |alley|alleyway|sidewalk|crosswalk|city|town|village|downtown|skyline|rooftop|bridge
    |harbor|harbour|port|dock|pier|marina|island|cave|glacier|tundra|savanna|prairie|swamp
    |marsh|reef|underwater|outer space|space station|orbit|planet|moon|sky|skies|clouds
    |kitchen|bedroom|living room|bathroom|office|classroom|library|cafe|café|coffee shop
    |restaurant|bar|diner|bakery|market|marketplace|shop|store|supermarket|mall|station|subway
    |train station|airport|stadium|arena|gym|studio|theater|theatre|museum|gallery|church
    |cathedral|temple|castle|palace|warehouse|factory|laboratory|lab|hospital|school|campus
    |playground|courtyard|plaza|square|parking lot|garage|attic|basement|hallway|corridor
    |staircase|balcony|porch|greenhouse|barn|stable|tent|campsite|cabin|cottage|house
    |apartment|room|interior|windowsill|window|table|desk|bench|sofa|couch|bed|floor
    |countertop|counter|shelf|stage|runway|racetrack|pool|snow|snowfield|ice|grass|grassy|sand
    |background|backdrop|fireplace|hearth|landscape|countryside|outdoors|indoors|cityscape
    |seascape|horizon|ruins|temple|rocks|intersection|tokyo|paris|london|new york|venice
    |sahara|arctic|antarctic|himalayas|alps|savannah|train|platform|spaceship interior|cockpit
    |car interior|workshop|rink|court|trail|path|road trip|riverside|canal|fountain|lighthouse
    |harborfront|waterfront|boardwalk|neighborhood
    """
)
"""Places and surfaces ("setting (where the action takes place)")."""

SUBJECT_NOUNS: Final = _listed(
    """
    man|woman|men|women|person|people|child|children|kid|kids|boy|girl|baby|toddler|teenager
    |family|couple|friends|crowd|chef|cook|dancer|dancers|musician|guitarist|pianist|drummer
    |singer|artist|painter|athlete|runner|skier|snowboarder|surfer|skateboarder|cyclist
    |climber|hiker|astronaut|pilot|sailor|fisherman|farmer|doctor|nurse|scientist|student
    |teacher|worker|knight|wizard|witch|robot|android|cowboy|explorer|traveler|traveller
    |tourist|detective|barista|waiter|grandmother|grandfather|grandma|grandpa|monk|ballerina
    |gymnast|player|players|figure|she|he|they|someone|villager|vendor|diver|swimmer|jogger
    |dog|dogs|puppy|cat|cats|kitten|bird|birds|eagle|hawk|owl|parrot|pigeon|seagull|gull|duck
    |ducks|swan|horse|horses|pony|cow|cows|sheep|goat|pig|chicken|hen|rooster|rabbit|bunny|fox
    |wolf|bear|deer|elk|moose|lion|tiger|leopard|cheetah|elephant|giraffe|zebra|monkey|gorilla
    |panda|koala|kangaroo|whale|dolphin|shark|fish|jellyfish|octopus|turtle|frog|snake|lizard
    |butterfly|butterflies|bee|bees|ant|ants|spider|dragon|unicorn|dinosaur|squirrel|hedgehog
    |otter|seal|penguin|penguins|flamingo|crab|hummingbird|retriever|corgi|husky|beagle|poodle
    |car|cars|truck|bus|tram|bicycle|bike|motorcycle|boat|ship|sailboat|yacht|canoe|kayak
    |airplane|plane|jet|helicopter|rocket|spaceship|spacecraft|satellite|balloon|balloons
    |hot air balloon|kite|cup|mug|coffee cup|teacup|teapot|glass|bottle|candle|book|letter
    |clock|pocket watch|phone|laptop|guitar|piano|violin|flower|flowers|rose|tulip|sunflower
    |tree|trees|leaf|leaves|bonsai|plant|cactus|mushroom|apple|fruit|cake|pizza|bread|soup
    |dish|meal|sushi|ice cream|pancakes|chocolate|wine|lantern|lamp|umbrella|hat|dress|shoe
    |shoes|sneaker|sneakers|vase|sculpture|statue|toy|teddy bear|ball|paper boat|origami|bowl
    |plate|noodles|ramen|chessboard|chess pieces|dice|coin|key|waves|wave|volcano|tornado
    |lightning|fireworks|fire|campfire|bonfire|moon|smoke|steam|snowflake|snowflakes|raindrops
    |droplets|water droplet|bubble|bubbles|feather|train|locomotive|windmill|sandcastle
    |snowman|skyscraper|cottage|castle|lighthouse|typewriter|record player|vinyl record
    |camera drone|drone|jellyfish|coral|seashell|crystal|gemstone|sword|shield|robot arm
    |machine|engine|windmills|leaves|pumpkin|lanterns|kites
    """
)
"""People, animals and things that are the focus ("subject (what is the main focus)").
Places are not subjects here: a prompt that names only a landscape is told to name a focus."""

ACTION_VERBS: Final = _listed(
    """
    run|walk|jump|fly|swim|dance|turn|smile|laugh|pour|fall|rise|spin|roll|drift|float|glide
    |soar|dive|climb|ride|drive|race|chase|play|sing|cook|bake|paint|write|read|type|eat|sip
    |open|close|lift|throw|catch|kick|bloom|melt|burn|flicker|sway|ripple|crash|splash|flow
    |sparkle|twirl|bounce|wander|stroll|march|sprint|leap|hop|crawl|slide|skate|ski|surf|sail
    |paddle|land|launch|unfold|grow|shrink|transform|morph|emerge|appear|disappear|fade|look
    |gaze|stare|watch|wait|sit|stand|lie|sleep|wake|blink|nod|hug|hold|carry|push|pull|build
    |knit|sew|dig|juggle|perform|practice|stretch|meditate|breathe|yawn|sniff|wag|purr|bark
    |chirp|flutter|hover|circle|steam|drip|swirl|shimmer|twinkle|erupt|crumble|sink|spill|toss
    |stir|chop|slice|knead|fold|wave|greet|wander|explore|search|step|kneel|bow|reach|waddle
    |examine|inspect|study|peek|scurry|gallop|trot|pounce|stalk|graze|peck|nibble|chew|lick
    |splash|wade|row|drift|cascade|tumble|scatter|gather|rush|dash|zip|streak|whirl|spiral
    |rotate|move|travel|cross|enter|exit|leave|arrive|approach|follow|lead|pass|fill|empty
    |ignite|shine
    """
)
"""Verbs of what happens ("action (what is happening)"); their -s, -es and -ies forms count
too, and so does almost any word ending in -ing (see ``NOT_ACTION_ING``)."""

NOUN_LIKE_VERB_FORMS: Final = words(
    "waves plants drinks leaves rows watches lands lights falls races rides paints steams "
    "looks circles seals glasses boxes"
)
"""-s forms that in prompts are far more often plural nouns (ocean waves, autumn leaves)."""

NOT_ACTION_ING: Final = words(
    """
    morning evening ceiling building buildings painting paintings lighting clothing ring king
    thing things something nothing everything anything spring string wing wings swing
    wedding pudding sibling icing awning railing stuffing setting frosting lightning tiling
    siding bedding warning feeling being parking living dining winding towering stunning amazing
    interesting charming inviting calming relaxing soothing breathtaking striking sweeping
    overlooking surrounding matching boring glowing sparkling shimmering gleaming blazing
    looming dazzling duckling seedling dumpling earring offering outing viking darling sing
    bring sling ding wring cling sting inspiring panning zooming tracking tilting dollying
    neighboring neighbouring bustling amusing pleasing promising refreshing welcoming leading
    opening ongoing upcoming incoming outgoing engaging
    """
)
"""-ing words that name a thing or a quality, not something happening; camera moves are shot
type, not action."""

ING_PREPOSITIONS: Final = words(
    "during including according regarding concerning excluding notwithstanding"
)
"""-ing words that are prepositions ("during a storm"), never an action."""

ING_COMPOUND_NOUNS: Final = words(
    "room lot pool table mall boat rod line stick ring area hall hills road path bag trip gear "
    "center centre machine cart board bench shoes suit costume class lesson session"
)
"""An -ing word before these is part of a name (living room, fishing boat, rolling hills)."""

SUGGESTIONS: Final[dict[str, str]] = {
    "shot_type": "Say how it is framed: wide shot, medium shot, close-up, aerial view, "
    "tracking shot; or how the camera moves (slowly pans, dolly in).",
    "subject": "Name the main focus: a person, an animal or an object, with a detail or two "
    "(a child in a yellow raincoat, a steaming coffee cup).",
    "action": "Say what happens: flying a kite, pouring tea, waves rolling in; one clear "
    "action reads better than several.",
    "setting": "Say where it takes place: in a grassy park, on a wooden table, on a rainy "
    "city street, in a sunlit kitchen.",
    "lighting": "Describe the light and mood: golden hour sunlight, soft morning light "
    "through blinds, neon at night, overcast daylight.",
}

EXAMPLE: Final = (
    "Wide shot of a child flying a red kite in a grassy park, golden hour sunlight, "
    "camera slowly pans upward."
)
"""The seed's own example of a prompt that names all five."""
