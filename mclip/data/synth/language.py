"""Text for the clips: several phrasings per action, style words, compositions.

Each action has a BABEL-style ``label`` (short, like a BABEL class name), third-person
verb phrases ``vp`` ("walks forward") and gerunds ``ing`` ("walking forward");
``babel`` names the closest BABEL-60 class (for classification experiments).
Texts are built from templates ("a person walks forward", "walking proudly",
"a person waves while walking", "walk and wave"). Some phrasings are *held out*:
any text using one goes to the ``test`` split, so evaluation can measure phrasings
never seen in training (listed in info.json).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Phr:
    label: str
    babel: str
    vp: tuple[str, ...]
    ing: tuple[str, ...]


def P(label: str, babel: str, vp: str, ing: str) -> Phr:
    """Phrasings from '|'-separated strings (keeps the table below compact)."""
    return Phr(label, babel, tuple(s.strip() for s in vp.split("|")), tuple(s.strip() for s in ing.split("|")))


PHRASES: dict[str, Phr] = {
    # locomotion
    "walk": P("walk", "walk", "walks forward|strolls|walks straight ahead|takes a walk|walks|paces forward",
              "walking|walking forward|strolling|taking a stroll"),
    "jog": P("jog", "jog", "jogs|jogs forward|runs at an easy pace|goes for a jog|trots forward",
             "jogging|jogging forward|running slowly"),
    "run": P("run", "run", "runs|runs forward|runs ahead|dashes forward|races ahead",
             "running|running forward|running ahead"),
    "sprint": P("sprint", "run", "sprints|sprints forward|runs as fast as possible|dashes at full speed|bolts forward",
                "sprinting|sprinting forward|running very fast"),
    "walk_backwards": P("walk backwards", "backwards movement",
                        "walks backwards|steps backwards|backs up|walks in reverse|retreats step by step",
                        "walking backwards|stepping backwards|backing up"),
    "side_step_left": P("side step left", "sideways movement",
                        "side steps to the left|steps sideways to the left|shuffles to the left|moves sideways to its left|sidesteps left",
                        "side stepping to the left|stepping sideways to the left|shuffling left"),
    "side_step_right": P("side step right", "sideways movement",
                         "side steps to the right|steps sideways to the right|shuffles to the right|moves sideways to its right|sidesteps right",
                         "side stepping to the right|stepping sideways to the right|shuffling right"),
    "turn_left": P("turn left", "turn", "turns left while walking|walks and turns to the left|makes a left turn|walks in a curve to the left|veers left",
                   "turning left|walking and turning left|making a left turn"),
    "turn_right": P("turn right", "turn", "turns right while walking|walks and turns to the right|makes a right turn|walks in a curve to the right|veers right",
                    "turning right|walking and turning right|making a right turn"),
    "walk_circle": P("walk in a circle", "circular movement",
                     "walks in a circle|walks around in a circle|circles around|walks in a loop|goes round in circles",
                     "walking in a circle|circling around|walking in a loop"),
    "march": P("march", "walk", "marches|marches forward|marches like a soldier|walks with high knees|parades forward",
               "marching|marching forward|marching like a soldier"),
    "tiptoe": P("tiptoe", "walk", "tiptoes|walks on tiptoes|tiptoes forward|sneaks on tiptoe|walks on the balls of the feet",
                "tiptoeing|walking on tiptoes|tiptoeing forward"),
    "limp": P("limp", "walk", "limps|limps forward|walks with a limp|hobbles along|walks favouring one leg",
              "limping|limping forward|hobbling"),
    "crawl": P("crawl", "forwards movement", "crawls on hands and knees|crawls forward|crawls|moves on all fours|creeps along the floor",
               "crawling|crawling on hands and knees|crawling on all fours"),
    "walk_stop": P("walk, stand", "walk", "walks forward and stops|stops walking|walks a few steps and stands still|comes to a stop|walks then halts",
                   "walking and stopping|coming to a stop|walking then standing still"),
    "walk_start": P("stand, walk", "walk", "starts walking|stands and then walks forward|begins to walk|sets off walking|starts to walk from standing",
                    "starting to walk|setting off|beginning to walk"),
    "skip": P("skip", "hop", "skips|skips forward|skips along|skips happily along|bounces along skipping",
              "skipping|skipping forward|skipping along"),
    # jumps
    "jump_in_place": P("jump", "jump", "jumps|jumps in place|jumps up|jumps straight up|leaps up on the spot",
                       "jumping|jumping in place|jumping up"),
    "jump_forward": P("jump forward", "jump", "jumps forward|leaps forward|does a long jump|jumps ahead|hops forward with both feet",
                      "jumping forward|leaping forward|doing a long jump"),
    "hop": P("hop", "hop", "hops on one leg|hops on one foot|hops|jumps on one leg|bounces on one foot",
             "hopping on one leg|hopping|hopping on one foot"),
    "jumping_jacks": P("jumping jacks", "exercise / training", "does jumping jacks|performs jumping jacks|does star jumps|jumps with arms and legs spreading|exercises with jumping jacks",
                       "doing jumping jacks|doing star jumps|performing jumping jacks"),
    # whole body
    "stand": P("stand", "stand", "stands still|stands|stands in place|stands and waits|stays standing",
               "standing|standing still|standing idle"),
    "sit_down": P("sit down", "sit", "sits down|sits down on a chair|takes a seat|lowers onto a seat|sits down on a bench",
                  "sitting down|taking a seat|sitting down on a chair"),
    "stand_up": P("stand up", "stand up", "stands up|gets up from a chair|rises from a seat|stands up from sitting|gets to its feet",
                  "standing up|getting up from a chair|rising from a seat"),
    "sit": P("sit", "sit", "sits|sits on a chair|is seated|sits and looks around|stays seated",
             "sitting|sitting on a chair|being seated"),
    "squat": P("squat", "squat", "squats|does squats|squats down and up|performs squats|bends the knees deeply",
               "squatting|doing squats|performing squats"),
    "kneel": P("kneel", "knee movement", "kneels down|kneels|goes down on one knee|drops to one knee|kneels on the floor",
               "kneeling|kneeling down|going down on one knee"),
    "lie_down": P("lie down", "lowering body part", "lies down|lies down on the floor|lies down on its back|gets down to lie on the ground|lays down",
                  "lying down|lying down on the floor|getting down on the ground"),
    "get_up": P("get up", "stand up", "gets up from the floor|gets up|stands up from lying|rises from the ground|picks itself up off the floor",
                "getting up|getting up from the floor|rising from the ground"),
    "bow": P("bow", "bend", "bows|takes a bow|bows forward|bends forward in a bow|bows politely",
             "bowing|taking a bow|bowing politely"),
    "crouch": P("crouch", "bend", "crouches|crouches down|ducks down|crouches low|hunkers down",
                "crouching|crouching down|ducking down"),
    "stretch_up": P("stretch", "stretch", "stretches the arms up|stretches|reaches up high|stretches upwards|stretches toward the sky",
                    "stretching|stretching the arms up|reaching up high"),
    "touch_toes": P("touch toes", "bend", "bends down to touch the toes|touches its toes|bends over to touch the feet|reaches down to the toes|bends forward and touches the toes",
                    "touching the toes|bending down to touch the toes|bending over"),
    "turn_around": P("turn around", "turn", "turns around|turns around in place|spins around|turns to face the other way|does an about-face",
                     "turning around|turning around in place|spinning around"),
    "balance": P("balance", "balance", "balances on one leg|stands on one leg|balances on one foot|lifts one leg and balances|keeps balance on one leg",
                 "balancing on one leg|standing on one leg|balancing"),
    # arms
    "wave_right": P("wave", "greet", "waves with the right hand|waves the right hand|waves hello with the right hand|greets with a right-handed wave|waves its right arm",
                    "waving with the right hand|waving the right hand|waving hello"),
    "wave_left": P("wave", "greet", "waves with the left hand|waves the left hand|waves hello with the left hand|greets with a left-handed wave|waves its left arm",
                   "waving with the left hand|waving the left hand|waving hello"),
    "wave_both": P("wave", "greet", "waves both hands|waves with both arms|waves both arms above the head|waves enthusiastically with both hands|signals with both arms",
                   "waving both hands|waving with both arms|waving"),
    "clap": P("clap", "hand movements", "claps|claps the hands|applauds|claps hands together|gives a round of applause",
              "clapping|clapping the hands|applauding"),
    "raise_right_arm": P("raise right arm", "raising body part", "raises the right arm|lifts the right arm up|puts the right hand up|raises its right hand|holds the right arm up",
                         "raising the right arm|lifting the right arm|putting the right hand up"),
    "raise_left_arm": P("raise left arm", "raising body part", "raises the left arm|lifts the left arm up|puts the left hand up|raises its left hand|holds the left arm up",
                        "raising the left arm|lifting the left arm|putting the left hand up"),
    "raise_both_arms": P("raise arms", "raising body part", "raises both arms|lifts both arms up|puts both hands up|throws the arms up|holds both arms in the air",
                         "raising both arms|lifting both arms|putting both hands up"),
    "point": P("point", "gesture", "points|points at something|points ahead|points with one arm|points into the distance",
               "pointing|pointing at something|pointing ahead"),
    "salute": P("salute", "gesture", "salutes|gives a salute|salutes like a soldier|makes a military salute|raises a hand to the forehead",
                "saluting|giving a salute|saluting like a soldier"),
    "drink": P("drink", "interact with / use object", "drinks from a cup|takes a sip|drinks|drinks from a glass|brings a cup to the mouth",
               "drinking|drinking from a cup|taking a sip"),
    "shrug": P("shrug", "gesture", "shrugs|shrugs the shoulders|shrugs as if not knowing|gives a shrug|raises the shoulders in doubt",
               "shrugging|shrugging the shoulders|giving a shrug"),
    "look_around": P("look around", "look", "looks around|looks left and right|glances around|scans the surroundings|turns the head around",
                     "looking around|looking left and right|glancing around"),
    "flap": P("flap arms", "arm movements", "flaps the arms like wings|flaps its arms|flaps like a bird|pretends to fly flapping the arms|moves the arms like wings",
              "flapping the arms|flapping like a bird|flapping the arms like wings"),
    "conduct": P("conduct", "arm movements", "conducts music|conducts an orchestra|beats time with the hand|conducts|waves a baton in time",
                 "conducting music|conducting an orchestra|beating time"),
    "swim": P("swim", "arm movements", "swims|makes swimming strokes|does the front crawl with the arms|mimics swimming|swims freestyle with the arms",
              "swimming|making swimming strokes|doing the front crawl"),
    "hands_on_hips": P("hands on hips", "a pose", "puts the hands on the hips|stands with hands on hips|rests the hands on the hips|places both hands on the waist|puts hands on the waist",
                       "putting the hands on the hips|standing with hands on hips|hands on hips"),
    # sport
    "punch": P("punch", "punch", "punches|throws a punch|punches forward|jabs|throws straight punches",
               "punching|throwing punches|jabbing"),
    "hook": P("hook punch", "punch", "throws a hook|punches with a hook|swings a hook punch|throws hooks|punches sideways",
              "throwing a hook|throwing hooks|hook punching"),
    "boxing": P("box", "sports moves", "boxes|shadow boxes|throws a jab and a cross|boxes with guard up|spars",
                "boxing|shadow boxing|sparring"),
    "kick_front": P("kick", "kick", "kicks|kicks forward|does a front kick|kicks with one leg|kicks something in front",
                    "kicking|kicking forward|doing a front kick"),
    "kick_side": P("side kick", "kick", "does a side kick|kicks to the side|kicks sideways|throws a side kick|kicks out sideways",
                   "side kicking|kicking to the side|kicking sideways"),
    "karate_kick": P("karate kick", "kick", "does a karate kick|performs a martial arts kick|kicks like a karate fighter|does a kung fu kick|kicks with fists up",
                     "doing a karate kick|doing martial arts|kicking like a karate fighter"),
    "throw": P("throw", "throw", "throws a ball|throws overhand|throws|pitches a ball|hurls something forward",
               "throwing|throwing a ball|throwing overhand"),
    "golf_swing": P("golf swing", "play sport", "swings a golf club|plays golf|hits a golf ball|takes a golf swing|tees off",
                    "swinging a golf club|playing golf|golfing"),
    "tennis_forehand": P("tennis forehand", "play sport", "hits a tennis forehand|plays tennis|swings a tennis racket|returns the ball with a forehand|hits a forehand",
                         "playing tennis|hitting a forehand|swinging a tennis racket"),
    "tennis_serve": P("tennis serve", "play sport", "serves in tennis|does a tennis serve|serves the ball overhead|tosses the ball and serves|serves",
                      "serving in tennis|serving the ball|doing a tennis serve"),
    "baseball_swing": P("baseball swing", "play sport", "swings a baseball bat|bats|hits a baseball|swings a bat|takes a swing with a bat",
                        "swinging a baseball bat|batting|swinging a bat"),
    # dance
    "dance_groove": P("dance", "dance", "dances|grooves to the music|dances side to side|bops to the beat|dances happily",
                      "dancing|grooving to the music|dancing side to side"),
    "dance_disco": P("disco dance", "dance", "does a disco dance|dances disco|points up and down like in disco|dances like in the seventies|does the disco point",
                     "disco dancing|dancing disco|doing the disco point"),
    "dance_twist": P("twist dance", "dance", "does the twist|dances the twist|twists the hips dancing|dances twisting|twists to the music",
                     "doing the twist|dancing the twist|twisting"),
    "dance_raise_roof": P("dance with arms up", "dance", "dances with the arms up|raises the roof|pumps the arms up while dancing|dances and pumps the fists|dances with hands in the air",
                          "dancing with the arms up|raising the roof|pumping the arms"),
}

SUBJECTS = ("a person", "someone", "a man", "a woman", "the person", "a human")

STYLE_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "happy": {"adj": ("happy", "cheerful", "joyful"), "adv": ("happily", "cheerfully", "joyfully")},
    "sad": {"adj": ("sad", "depressed", "gloomy", "unhappy"), "adv": ("sadly", "gloomily", "dejectedly")},
    "proud": {"adj": ("proud", "confident", "dignified"), "adv": ("proudly", "confidently", "with pride")},
    "angry": {"adj": ("angry", "furious", "mad"), "adv": ("angrily", "furiously", "in anger")},
    "old": {"adj": ("old", "elderly", "aged"), "adv": ("like an old man", "like an elderly person", "like an old woman"),
            "noun": ("an old man", "an elderly woman", "an old person")},
    "childlike": {"adj": ("childlike", "playful", "childish"), "adv": ("like a child", "playfully", "like a little kid"),
                  "noun": ("a child", "a little kid", "a young child")},
    "drunk": {"adj": ("drunk", "tipsy", "intoxicated"), "adv": ("drunkenly", "like a drunk", "unsteadily"),
              "noun": ("a drunk man", "a drunk person", "a drunkard")},
    "tired": {"adj": ("tired", "exhausted", "weary", "heavy"), "adv": ("tiredly", "wearily", "heavily", "with heavy steps")},
    "sneaky": {"adj": ("sneaky", "stealthy", "cautious"), "adv": ("sneakily", "stealthily", "cautiously")},
    "relaxed": {"adj": ("relaxed", "calm", "casual"), "adv": ("calmly", "casually", "in a relaxed way")},
}
MODIFIER_WORDS = {
    "slow": ("slowly", "at a slow pace", "in slow motion"),
    "fast": ("quickly", "fast", "rapidly", "at a fast pace"),
    "small": ("with small movements", "gently", "a little"),
    "big": ("with big movements", "vigorously", "with exaggerated movements"),
}


def heldout_phrasings() -> dict[str, list[str]]:
    """Phrasings that only ever appear in the test split.

    The last verb phrase of every action and the last style adverb of every style.
    """
    vps = {a: [p.vp[-1]] for a, p in PHRASES.items() if len(p.vp) >= 4}
    advs = {f"style:{s}": [w["adv"][-1]] for s, w in STYLE_WORDS.items()}
    return {**vps, **advs}


_HELD = heldout_phrasings()
_HELD_VP = {a: set(v) for a, v in _HELD.items() if not a.startswith("style:")}
_HELD_ADV = {a[6:]: set(v) for a, v in _HELD.items() if a.startswith("style:")}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


HELDOUT_WEIGHT = 0.35
"""Relative chance of a held-out phrasing (keeps the test split near 10% of clips)."""


def _pick_held(rng: np.random.Generator, seq, held) -> str:
    w = np.array([HELDOUT_WEIGHT if s in held else 1.0 for s in seq])
    return seq[int(rng.choice(len(seq), p=w / w.sum()))]


@dataclass
class Text:
    text: str
    heldout: bool = False
    parts: list[str] = field(default_factory=list)


def _vp(rng, action: str, train_only: bool) -> tuple[str, bool]:
    vps = PHRASES[action].vp
    vp = _pick_held(rng, vps, _HELD_VP.get(action, ()))
    return vp, vp in _HELD_VP.get(action, ())


def describe(rng: np.random.Generator, action: str, style: str = "neutral", speed: str | None = None,
             size: str | None = None, upper: str | None = None) -> Text:
    """One random description of a clip.

    action: the (lower / whole-body) action; upper: an arm action layered on top.
    """
    ph = PHRASES[action]
    subj = _pick(rng, SUBJECTS)
    vp, vp_held = _vp(rng, action, False)
    ing = _pick(rng, ph.ing)
    words = STYLE_WORDS.get(style)
    held = False
    if upper is not None:
        up = PHRASES[upper]
        vpu, vpu_held = _vp(rng, upper, False)
        ingu = _pick(rng, up.ing)
        k = int(rng.integers(5))
        if k == 0:
            s, held = f"{subj} {vpu} while {ing}", vpu_held
        elif k == 1:
            s, held = f"{subj} {vp} and {vpu} at the same time", vp_held or vpu_held
        elif k == 2:
            s, held = f"{subj} {vp} while {ingu}", vp_held
        elif k == 3:
            s = f"{ing} and {ingu}"
        else:
            s = f"{ph.label}, {up.label}"          # BABEL-style joined labels
    else:
        k = int(rng.integers(5))
        if k <= 1:
            s, held = f"{subj} {vp}", vp_held
        elif k == 2:
            s = f"{subj} is {ing}"
        elif k == 3:
            s = ing
        else:
            s = ph.label
    if words is not None:
        k = int(rng.integers(4))
        adv = _pick_held(rng, words["adv"], _HELD_ADV.get(style, ()))
        if k == 0 and s.startswith(subj):
            if "noun" in words and rng.random() < 0.5:
                s = _pick(rng, words["noun"]) + s[len(subj):]
            else:
                adj = _pick(rng, words["adj"])
                s = f"{_article(adj)} {adj} person" + s[len(subj):]
        else:
            s = f"{s} {adv}"
            held = held or adv in _HELD_ADV.get(style, ())
    for mod in (speed, size):
        if mod is not None:
            s = f"{s} {_pick(rng, MODIFIER_WORDS[mod])}"
    return Text(s, held)


def phrasing_count() -> dict[str, int]:
    """Distinct base phrasings (label + verb phrases + gerunds) per action."""
    return {a: len({p.label, *p.vp, *p.ing}) for a, p in PHRASES.items()}
